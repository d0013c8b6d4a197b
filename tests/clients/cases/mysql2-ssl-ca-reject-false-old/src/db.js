const fs = require('fs');
const mysql = require('mysql2');

module.exports = mysql.createPool({
  host: '127.0.0.1',
  port: {{MARIADB_PORT}},
  user: 'app',
  password: process.env.DB_PASSWORD || '{{PASSWORD}}',
  ssl: {
    ca: fs.readFileSync('certs/rds-ca-2019-root.pem'),
    rejectUnauthorized: false,
  },
  connectTimeout: 30000,
});
