import { DataSource } from 'typeorm';
import { Invoice } from './entity/Invoice';

export const AppDataSource = new DataSource({
  type: 'mysql',
  host: process.env.INVOICE_HOST,
  port: 3306,
  username: process.env.INVOICE_USER,
  password: process.env.INVOICE_PASSWORD,
  database: 'invoices',
  ssl: 'Amazon RDS',
  entities: [Invoice],
});
