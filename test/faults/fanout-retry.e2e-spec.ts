import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { startTestApp, type TestApp } from '../helpers/app';
import { dbFault } from '../helpers/db-fault';
import { oneNumberResidents, PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'fanout-retry-e2e-secret'.padEnd(40, 'f');
const { people: RESIDENTS, sql: residentsSql } = oneNumberResidents(8, '07', 'P-FR');

/**
 * Found by the fault suite (kill -9 of the worker during fan-out): a fan-out batch starts its
 * people's chains (step 1, timers) and then writes their first attempts, in two commits. A fan-out
 * that died between the two was retried, found the chains started and skipped those people: they
 * were never contacted and stayed `pending` for good (320 of 325 in the suite's short form).
 */
describe('a fan-out that died after starting chains but before writing their attempts', () => {
  let t: TestApp;
  const fault = dbFault('fanout_attempts_lost', 'contact_attempts', 'INSERT');

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + residentsSql,
    });
    for (const p of [...Object.values(PEOPLE), ...RESIDENTS])
      t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
  });
  afterAll(() => t.close());

  it('is retried and contacts everyone whose chain it had started', async () => {
    // The first run's attempt insert fails as if the process died there.
    await t.db.query(fault.on);
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ areas: ['513221001'] }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const fanout = t.app.get<Queue>(getQueueToken('fanout'), { strict: false });
    await waitUntil(async () => {
      const jobs = await fanout.getJobs(['delayed', 'wait', 'failed', 'active', 'completed']);
      return jobs.some((j) => /simulated database fault/.test(j.failedReason ?? ''));
    }, 'the fan-out failing after starting the chains');
    const started: { n: number }[] = await t.db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE warning_id = $1 AND step > 0`,
      [id],
    );
    expect(started[0].n).toBeGreaterThan(0);
    await t.db.query(fault.off);

    // The retried fan-out finishes; nobody is left without a first message.
    const left = await waitUntil(
      async () => {
        const [w] = await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]);
        if (!w.fanout_done_at) return undefined;
        const rows: { n: number }[] = await t.db.query(
          `SELECT count(*)::int AS n FROM deliveries d
            WHERE d.warning_id = $1 AND d.state = 'pending'
              AND NOT EXISTS (SELECT 1 FROM contact_attempts a WHERE a.delivery_id = d.id)`,
          [id],
        );
        return { n: rows[0].n };
      },
      'the retried fan-out done',
      60_000,
    );
    expect(left.n).toBe(0);
    const people: { n: number; contacted: number }[] = await t.db.query(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contact_attempts a WHERE a.delivery_id = d.id))::int AS contacted
         FROM deliveries d WHERE d.warning_id = $1`,
      [id],
    );
    expect(people[0].contacted).toBe(people[0].n);
  });
});
