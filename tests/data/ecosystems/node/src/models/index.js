const { Sequelize } = require('sequelize');

const sequelize = new Sequelize(process.env.CATALOG_DB, process.env.CATALOG_USER, process.env.CATALOG_PASSWORD, {
  host: process.env.CATALOG_HOST,
  dialect: 'mysql',
  dialectOptions: {
    ssl: 'Amazon RDS',
  },
  logging: false,
});

module.exports = sequelize;
