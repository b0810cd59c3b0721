import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AnswersService } from '../../src/modules/chain/answers.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { oneNumberResidents, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { riskWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'answer-batches-e2e-secret'.padEnd(40, 'b');
const CROWD = 8;

/** Residents of grid 1, one mobile each, beside the village fixture's people. */
const { sql: crowdSql } = oneNumberResidents(CROWD, '09', 'P-AB');

/**
 * Issue 10: answers share their commits. Under load each answer's transaction waited for its own
 * WAL flush (COMMIT was 42–44 % of the sampled answer sessions at 500 keypresses a second). Now
 * answers that arrive while every lane is busy go together, each in a savepoint of one transaction.
 * Here one lane: the first answer holds it (its person's row is locked by another transaction),
 * the others queue behind it and then commit together; one of them fails alone, and one whose
 * person's row is held while the batch runs does not hold up the others: it runs again alone once
 * its row is free.
 */
describe('answers arriving together share one commit', () => {
  let t: TestApp;
  let locker: Client;
  let holder: Client;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + crowdSql,
      env: { ANSWER_BATCH_LANES: '1' },
    });
    locker = new Client({ connectionString: process.env.DATABASE_URL });
    await locker.connect();
    holder = new Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
  });
  afterAll(async () => {
    await locker.end();
    await holder.end();
    await t.close();
  });

  it('commits the answers queued behind a busy lane together; a bad one fails alone, a held one waits alone', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(
        riskWarning({ headline: '批量应答测试：地质灾害气象风险预警', audience: ['resident'] }),
      );
    expect(res.status).toBe(201);
    const warningId = res.body.id as string;
    let deliveries: { id: string }[] = [];
    await waitUntil(async () => {
      deliveries = await t.db.query(
        `SELECT d.id FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id LIKE 'P-AB%' ORDER BY p.external_id`,
        [warningId],
      );
      return deliveries.length === CROWD;
    }, 'the crowd’s deliveries are written');
    const answers = t.app.get(AnswersService, { strict: false });
    const before = answers.sharedCommits;
    const confirm = (deliveryId: string, n: number) =>
      answers.record({
        deliveryId,
        kind: 'confirm',
        channel: 'link',
        raw: 'confirm',
        dedupeKey: `link:batch-test:${n}`,
      });

    // The first answer takes the only lane and waits there: its person's row is held.
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [deliveries[0].id]);
    const safety = setTimeout(() => void locker.query('ROLLBACK').catch(() => undefined), 30_000);
    let first: Promise<unknown>;
    let queued: Promise<unknown>[];
    let bad: Promise<unknown>;
    try {
      first = confirm(deliveries[0].id, 0);
      await waitUntil(async () => {
        const [w] = await t.db.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        return w.n > 0;
      }, 'the first answer waits for the row');
      // The others queue behind it; one of them answers for a delivery that does not exist, and
      // the row of the first of them is held by another transaction while their batch runs.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [deliveries[1].id]);
      queued = deliveries.slice(1).map((d, i) => confirm(d.id, i + 1));
      bad = confirm(randomUUID(), 99);
    } finally {
      clearTimeout(safety);
      await locker.query('COMMIT').catch(() => undefined);
    }
    const held = setTimeout(() => void holder.query('ROLLBACK').catch(() => undefined), 30_000);
    try {
      await first!;
      // The batch commits without the held answer, whose row is still held.
      const rest = (await Promise.all(queued!.slice(1))) as {
        recorded: boolean;
        effective: boolean;
      }[];
      expect(rest.every((r) => r.recorded && r.effective)).toBe(true);
      await expect(bad!).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(
        (await t.db.query(`SELECT 1 FROM answers WHERE dedupe_key = 'link:batch-test:1'`)).length,
      ).toBe(0);
    } finally {
      clearTimeout(held);
      await holder.query('COMMIT').catch(() => undefined);
    }
    // Its row free, the held answer is recorded, alone.
    expect(await queued![0]).toMatchObject({ recorded: true, effective: true });

    // The queued answers committed together (rows written in savepoints carry their own xids,
    // so the service's count of shared commits tells it), the first alone.
    expect(answers.sharedCommits).toEqual({
      batches: before.batches + 1,
      answers: before.answers + CROWD - 2,
    });
    // Each answer did all it does alone: the person confirmed, the answer effective and audited.
    const rows = await t.db.query<{ state: string; effective: boolean; events: number }[]>(
      `SELECT d.state, a.effective,
              (SELECT count(*)::int FROM audit_events e
                WHERE e.action = 'answer.recorded' AND e.subject_id = a.id::text) AS events
         FROM answers a JOIN deliveries d ON d.id = a.delivery_id
        WHERE a.dedupe_key LIKE 'link:batch-test:%'`,
    );
    expect(rows).toEqual(
      Array.from({ length: CROWD }, () => ({ state: 'confirmed', effective: true, events: 1 })),
    );
    expect(
      (await t.db.query(`SELECT 1 FROM answers WHERE dedupe_key = 'link:batch-test:99'`)).length,
    ).toBe(0);
  });
});
