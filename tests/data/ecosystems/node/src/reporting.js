const fs = require('fs');
const { Pool } = require('pg');

// The ssl object below is ignored: sslmode in the URL replaces it.
const reporting = new Pool({
  connectionString: 'postgres://reporter:s3cr3t@reports.cluster-abc.eu-west-1.rds.amazonaws.com:5432/reports?sslmode=require',
  ssl: {
    ca: fs.readFileSync('certs/rds-bundle.pem').toString(),
  },
});

const audit = new Pool({
  connectionString: 'postgresql://audit@audit.abc.eu-west-1.rds.amazonaws.com/audit?sslmode=verify-full&sslrootcert=certs/rds-bundle.pem',
});

const scratch = new Pool({
  connectionString: 'postgres://dev@localhost/scratch?sslmode=no-verify',
});

module.exports = { reporting, audit, scratch };
