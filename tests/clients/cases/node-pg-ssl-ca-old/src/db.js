const fs = require('fs');
const path = require('path');
const { Pool } = require('pg');

const pool = new Pool({
  host: '127.0.0.1',
  port: {{PG_PORT}},
  database: 'postgres',
  user: 'app',
  password: process.env.PGPASSWORD || '{{PASSWORD}}',
  ssl: {
    ca: fs.readFileSync(path.join(__dirname, '..', 'certs', 'rds-combined-ca-bundle.pem')).toString(),
  },
  connectionTimeoutMillis: 30000,
});

module.exports = pool;
