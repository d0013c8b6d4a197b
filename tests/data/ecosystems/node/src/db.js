'use strict';

const mysql = require('mysql2/promise');

// Orders live in the Aurora MySQL cluster; TLS with the driver's RDS profile.
const pool = mysql.createPool({
  host: process.env.ORDERS_DB_HOST,
  user: process.env.ORDERS_DB_USER,
  password: process.env.ORDERS_DB_PASSWORD,
  database: 'orders',
  ssl: 'Amazon RDS',
  connectionLimit: 10,
});

module.exports = { pool };
