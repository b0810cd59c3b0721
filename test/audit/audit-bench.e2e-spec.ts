import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { runAuditBench } from '../../bench/audit.bench';
import { testPgAdminUrl } from '../helpers/database';

/** The audit benchmark runs end to end with tiny numbers; its speed is never asserted here. */
describe('npm run bench -- audit', () => {
  const database = `audit_bench_test_${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-bench-'));
  const saved = process.env.DATABASE_URL;

  afterAll(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    const admin = new Client({ connectionString: testPgAdminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('measures the old design, the sealed log and the bare limit, and writes its reports', async () => {
    process.env.DATABASE_URL = testPgAdminUrl();
    const lines: string[] = [];
    const result = await runAuditBench({
      writers: 3,
      batch: 2,
      seconds: 0.3,
      workMs: 0,
      resultsDir: dir,
      database,
      log: (msg) => lines.push(msg),
    });
    expect(result.rows.map((r) => r.design)).toEqual(['before', 'sealed', 'bare']);
    for (const r of result.rows) {
      expect(r.transactions).toBeGreaterThan(0);
      expect(Number.isFinite(r.ratio)).toBe(true);
    }
    expect(result.seal.ok).toBe(true);
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.versions.postgres).toMatch(/^\d+/);
    const json = JSON.parse(fs.readFileSync(result.files!.json, 'utf8'));
    expect(json.rows).toHaveLength(3);
    const md = fs.readFileSync(result.files!.markdown, 'utf8');
    for (const design of ['before', 'sealed', 'bare']) expect(md).toContain(`| ${design} |`);
    expect(lines.join('\n')).toContain('| design |');
  });
});
