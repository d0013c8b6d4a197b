// Connects with node-postgres (pg) or mysql2 exactly as each case's application code does: it
// loads the case's .env into process.env, works from the case directory and requires its
// src/db.js, which builds the pool. One process serves every case.
//
// Protocol: one JSON request per stdin line, {"cases": [{"id", "dir", "entry", "engine"}]};
// one JSON line back, {id: {"ok": bool, "tls": bool | null, "error": string}}.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const PG_TLS = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
const MY_TLS = "SHOW STATUS LIKE 'Ssl_cipher'";

process.on('uncaughtException', (err) => process.stderr.write(`uncaught: ${err}\n`));

function readEnv(file) {
  const env = {};
  if (!fs.existsSync(file)) return env;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    const eq = line.indexOf('=');
    if (line && !line.startsWith('#') && eq > 0) {
      env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim().replace(/^["']|["']$/g, '');
    }
  }
  return env;
}

async function runCase(c) {
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  let pool = null;
  try {
    process.chdir(c.dir);
    Object.assign(process.env, readEnv(path.join(c.dir, '.env')));
    const entry = path.join(c.dir, c.entry);
    delete require.cache[require.resolve(entry)];
    pool = require(entry);
    let tls;
    if (c.engine === 'postgres') {
      const res = await pool.query(PG_TLS);
      tls = res.rows[0].ssl === true;
    } else {
      const [rows] = await pool.promise().query(MY_TLS);
      tls = Boolean(rows[0] && rows[0].Value);
    }
    return { ok: true, tls, error: '' };
  } catch (err) {
    return { ok: false, tls: null, error: String(err && err.message ? err.message : err).slice(0, 500) };
  } finally {
    if (pool) {
      try {
        if (c.engine === 'postgres') await pool.end();
        else await pool.promise().end();
      } catch (_) {
        // a pool that never connected may refuse to end: nothing to release
      }
    }
    process.chdir(savedCwd);
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const request = JSON.parse(line);
  const results = {};
  for (const c of request.cases) results[c.id] = await runCase(c);
  process.stdout.write(JSON.stringify(results) + '\n');
});
