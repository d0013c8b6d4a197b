const fs = require('fs');
const pool = new Pool({
  host: 'api.example',
  ssl: {
    ca: fs.readFileSync('/app/certs/global-bundle.pem').toString(),
    rejectUnauthorized: true,
  },
});
const cache = mysql.createConnection({ host: 'cache.example', ssl: { rejectUnauthorized: false } });
