const fs = require('fs');
const mysql = require('mysql2');

const pool = mysql.createPool({
  host: '127.0.0.1',
  port: {{MARIADB_PORT}},
  user: 'app',
  password: process.env.DB_PASSWORD || '{{PASSWORD}}',
  ssl: {
    ca: fs.readFileSync('certs/rds-combined-ca-bundle.pem'),
  },
  connectTimeout: 30000,
});

module.exports = pool;
