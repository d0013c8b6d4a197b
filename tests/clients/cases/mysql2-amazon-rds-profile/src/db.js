const mysql = require('mysql2');

module.exports = mysql.createPool({
  host: '127.0.0.1',
  port: {{MARIADB_PORT}},
  user: 'app',
  password: process.env.DB_PASSWORD || '{{PASSWORD}}',
  ssl: 'Amazon RDS',
  connectTimeout: 30000,
});
