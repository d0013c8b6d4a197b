'use strict';

const mysql = require('mysql2/promise');

const pool = mysql.createPool({
  host: process.env.DB_HOST,
  user: process.env.DB_USER,
  password: process.env.DB_PASSWORD,
  database: 'billing',
  ssl: 'Amazon RDS',
  connectionLimit: 10,
});

module.exports = pool;
