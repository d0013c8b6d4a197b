const { Sequelize } = require('sequelize');

module.exports = new Sequelize('legacy', process.env.DB_USER, process.env.DB_PASSWORD, {
  host: process.env.DB_HOST,
  dialect: 'mysql',
  dialectModule: require('mysql'),
  dialectOptions: {
    ssl: 'Amazon RDS',
  },
});
