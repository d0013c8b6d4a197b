const mysql = require('mysql2');

// TODO(tls): switch to ssl: 'Amazon RDS' once the replica has TLS
// ca: fs.readFileSync('certs/global-bundle.pem'),
/* NODE_EXTRA_CA_CERTS=certs/global-bundle.pem */
const pool = mysql.createPool({ host: process.env.DB_HOST, user: 'payments' });

module.exports = { pool };
