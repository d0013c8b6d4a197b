import * as cdk from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';

export class DatabaseStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props?: cdk.StackProps) {
    super(scope, id, props);
    const vpc = ec2.Vpc.fromLookup(this, 'Vpc', { isDefault: false });

    // Before the 2024 rotation this was caCertificate: rds.CaCertificate.RDS_CA_2019
    const orders = new rds.DatabaseInstance(this, 'OrdersDb', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
      vpc,
      instanceIdentifier: 'orders-cdk',
      description: 'pinned with caCertificate: rds.CaCertificate.RDS_CA_2019 until OPS-99',
      caCertificate: rds.CaCertificate.RDS_CA_2019,
    });

    /* caCertificate: rds.CaCertificate.of('rds-ca-2019') */
    new rds.DatabaseCluster(this, 'SearchCluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_15_4 }),
      vpc,
      writer: rds.ClusterInstance.provisioned('writer', {
        caCertificate: rds.CaCertificate.of('rds-ca-2019'),
      }),
    });

    new cdk.CfnOutput(this, 'OrdersEndpoint', { value: orders.dbInstanceEndpointAddress });
  }
}
