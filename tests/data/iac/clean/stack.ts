import * as rds from 'aws-cdk-lib/aws-rds';
// caCertificate: rds.CaCertificate.RDS_CA_2019
const note = "caCertIdentifier: 'rds-ca-2019' is retired";
/*
  new rds.DatabaseInstance(this, 'Old', { caCertificate: rds.CaCertificate.RDS_CA_2019 })
*/
