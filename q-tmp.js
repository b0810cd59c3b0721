const { Client } = require('pg');
(async () => {
  const pw = require('fs').readFileSync('/tmp/wt-faults/test-output/faults/runtime/pg/postgres.password', 'utf8').trim();
  const c = new Client({ host: '127.0.0.1', port: 38839, user: 'postgres', password: pw, database: process.argv[2] });
  await c.connect();
  const r = await c.query(process.argv[3]);
  console.log(JSON.stringify(r.rows, null, 1));
  await c.end();
})().catch(e => { console.error(e.message); process.exit(1); });
