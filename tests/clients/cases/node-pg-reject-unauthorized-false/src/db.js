const { Pool } = require('pg');

module.exports = new Pool({
  host: '127.0.0.1',
  port: {{PG_PORT}},
  database: 'postgres',
  user: 'app',
  password: process.env.PGPASSWORD || '{{PASSWORD}}',
  ssl: { rejectUnauthorized: false },
  connectionTimeoutMillis: 30000,
});
