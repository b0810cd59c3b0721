import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { runTimersBench } from '../../bench/timers.bench';
import { testPgAdminUrl } from '../helpers/database';
import { testRedisUrl } from '../helpers/redis';

/** The timers benchmark runs end to end with tiny numbers; its speed is never asserted here. */
describe('npm run bench -- timers', () => {
  const database = `timers_bench_test_${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'timers-bench-'));
  const saved = { ...process.env };

  afterAll(async () => {
    for (const key of [
      'DATABASE_URL',
      'REDIS_URL',
      'QUEUE_PREFIX',
      'ESCALATION_CONCURRENCY',
      'RECOVERY_INTERVAL_MS',
      'LOG_LEVEL',
    ])
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    const admin = new Client({ connectionString: testPgAdminUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the grouped timers and the no-op limit, fires none twice, and writes its reports', async () => {
    process.env.DATABASE_URL = testPgAdminUrl();
    process.env.REDIS_URL = testRedisUrl();
    const lines: string[] = [];
    const result = await runTimersBench({
      timers: 300,
      concurrency: 10,
      spreadMs: 0,
      workMs: 0,
      resultsDir: dir,
      database,
      log: (msg) => lines.push(msg),
    });
    // Every delivery advanced exactly once, from a handful of jobs.
    expect(result.grouped.wrong).toBe(0);
    expect(result.grouped.jobs).toBeGreaterThan(0);
    expect(result.grouped.jobs).toBeLessThan(300);
    expect(result.limit.jobs).toBe(300);
    for (const l of [result.grouped.lateness, result.limit.lateness])
      expect(Number.isFinite(l.p99)).toBe(true);
    expect(result.versions.postgres).toMatch(/^\d+/);
    const json = JSON.parse(fs.readFileSync(result.files!.json, 'utf8'));
    expect(json.grouped.wrong).toBe(0);
    const md = fs.readFileSync(result.files!.markdown, 'utf8');
    expect(md).toContain('| grouped timers');
    expect(md).toContain('| limit: no-op delayed job per person');
    expect(lines.join('\n')).toContain('ratio limit / grouped');
  });
});
