const path = require('path');
const fs = require('fs');

module.exports = {
  production: {
    client: 'pg',
    connection: {
      host: process.env.PGHOST,
      database: 'billing',
      ssl: {
        rejectUnauthorized: true,
        ca: fs.readFileSync(path.join(__dirname, 'certs', 'rds-bundle.pem')),
      },
    },
    pool: { min: 2, max: 10 },
  },
};
