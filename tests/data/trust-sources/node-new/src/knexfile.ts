import type { Knex } from 'knex';

const config: Knex.Config = {
  client: 'mysql2',
  connection: {
    host: process.env.DB_HOST,
    user: process.env.DB_USER,
    password: process.env.DB_PASSWORD,
    database: 'inventory',
    ssl: 'Amazon RDS',
  },
  pool: { min: 0, max: 8 },
};

export default config;
