import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { startTestApp, type TestApp } from '../helpers/app';
import { oneNumberResidents, villageFixtureSql } from '../helpers/directory-fixture';
import { stepJobIdFor } from '../helpers/step-timers';
import { waitUntil } from '../helpers/wait';
import { FanoutService } from '../../src/modules/dispatch/fanout.service';
import { EntryMoves } from '../../src/modules/chain/entry-moves.repository';
import { riskWarning } from '../helpers/warning-bodies';
import { SEND_QUEUES } from '../helpers/send-queues';
import { watchCallsAtOnce } from '../helpers/at-once';

const APP_SECRET = 'fanout-writes-e2e'.padEnd(40, 'w');

/** Residents of grid 1, one mobile each: three fan-out batches of 10. */
const RESIDENTS = 25;
const { sql: residentsSql } = oneNumberResidents(RESIDENTS, '08', 'P-W');
const BATCH = 10;

/**
 * A fan-out writes each person's delivery once: the chain's first step (its policy, its wait and
 * due time) goes in with the row, not in an update of every row after it. At a million people the
 * update was a tenth of Postgres's time in the run (one more version of every delivery row, none
 * of them HOT: step and due time are indexed).
 */
describe('fan-out: a delivery is written once, its chain started in the same row', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const queue = (name: string) => t.app.get<Queue>(getQueueToken(name), { strict: false });
  const issue = async (headline: string) => {
    const res = await t.http().post('/v1/warnings').set(duty()).send(riskWarning({ headline }));
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const fanoutDone = async (id: string) =>
    (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
      .fanout_done_at as Date | null;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + residentsSql,
      env: { FANOUT_BATCH_SIZE: String(BATCH), RECOVERY_REQUEUE_AFTER_SECONDS: '600' },
    });
    // Every row version of a delivery after its insert, counted by a trigger of this test.
    await t.db.query(`
      CREATE TABLE test_delivery_updates (warning_id uuid, n int NOT NULL DEFAULT 0);
      CREATE FUNCTION test_count_delivery_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO test_delivery_updates (warning_id, n) VALUES (NEW.warning_id, 1);
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_count_delivery_update AFTER UPDATE ON deliveries
        FOR EACH ROW EXECUTE FUNCTION test_count_delivery_update();`);
  });
  afterAll(async () => {
    for (const name of SEND_QUEUES) await queue(name).resume();
    await t?.close();
  });

  it('writes every delivery with its first step started, updates none of them, and schedules their timers', async () => {
    // Every send is held (email, robots and loudspeakers too, whose recording can move a
    // delivery): only the fan-out's own writes are counted.
    for (const name of SEND_QUEUES) await queue(name).pause();
    const id = await issue('渔子溪村地质灾害气象风险橙色预警（一次写入）');
    await waitUntil(() => fanoutDone(id), 'the fan-out done');

    const rows: {
      person: string;
      step: number;
      stepDone: number;
      policyId: string | null;
      wait: number;
      started: boolean;
      dueAt: Date;
      waited: number;
      attempts: number;
    }[] = await t.db.query(
      `SELECT p.external_id AS person, d.step, d.step_done AS "stepDone", d.policy_id AS "policyId",
              (pol.steps -> 0 ->> 'waitSeconds')::int AS wait,
              d.step_started_at IS NOT NULL AND d.step_started_at <= now() AS started,
              d.step_due_at AS "dueAt",
              (SELECT count(*)::int FROM contact_attempts a WHERE a.delivery_id = d.id) AS attempts,
              extract(epoch FROM d.step_due_at - d.step_started_at)::int AS "waited"
         FROM deliveries d JOIN people p ON p.id = d.person_id
         LEFT JOIN escalation_policies pol ON pol.id = d.policy_id
        WHERE d.warning_id = $1`,
      [id],
    );
    expect(rows.length).toBeGreaterThanOrEqual(RESIDENTS + 3);
    for (const r of rows) {
      expect({ person: r.person, step: r.step, stepDone: r.stepDone }).toEqual({
        person: r.person,
        step: 1,
        stepDone: 1,
      });
      expect(r.policyId).not.toBeNull();
      expect(r.started).toBe(true);
      // Due after the wait of the policy's first step, from when the step started.
      expect(r.waited).toBe(r.wait);
      expect(r.attempts).toBeGreaterThanOrEqual(1);
    }
    // Written once: no delivery of the warning was updated after its insert.
    const [{ n }] = await t.db.query(
      `SELECT coalesce(sum(n), 0)::int AS n FROM test_delivery_updates WHERE warning_id = $1`,
      [id],
    );
    expect(n).toBe(0);
    // Each delivery's step timer is scheduled (one job per due second).
    const timers = queue('escalation');
    for (const r of rows) {
      const job = await timers.getJob(stepJobIdFor(id, 1, 1, r.dueAt));
      expect(job?.id).toBe(stepJobIdFor(id, 1, 1, r.dueAt));
    }
  });

  it('writes two batches of people at once, each person once, and finishes every batch it started', async () => {
    for (const name of SEND_QUEUES) await queue(name).pause();
    try {
      // Each batch's insert of deliveries waits (a second at most) for another to be under way.
      const watch = watchCallsAtOnce(t.app.get(EntryMoves, { strict: false }), 'enter');
      let id = '';
      try {
        id = await issue('渔子溪村地质灾害气象风险橙色预警（并行写入）');
        await waitUntil(() => fanoutDone(id), 'the fan-out done');
      } finally {
        watch.restore();
      }
      expect(watch.seen.most).toBe(2);
      const people: { n: number; once: number; contacted: number }[] = await t.db.query(
        `SELECT count(*)::int AS n, count(DISTINCT d.person_id)::int AS once,
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contact_attempts a
                                                WHERE a.delivery_id = d.id AND a.purpose = 'warning'))::int AS contacted
           FROM deliveries d WHERE d.warning_id = $1`,
        [id],
      );
      expect(watch.seen.calls).toBe(Math.ceil(people[0].n / BATCH));
      expect(people[0].n).toBeGreaterThanOrEqual(RESIDENTS + 3);
      expect(people[0]).toEqual({ n: people[0].n, once: people[0].n, contacted: people[0].n });
      await t.http().post(`/v1/warnings/${id}/cancel`).set(duty()).send({ reason: '测试结束' });
    } finally {
      for (const name of SEND_QUEUES) await queue(name).resume();
    }
  });

  it('writes the first contacts of a person whom a notice about others reached first, when a killed fan-out is run again', async () => {
    // A fan-out killed after it wrote a batch's deliveries (their chains started) and before it
    // wrote their first attempts: meanwhile a resident's step ran out and their grid leader was
    // sent a notice about it (numbered first on the leader's delivery). The fan-out's second
    // run must still write the leader's own alert.
    for (const name of ['send-sms', 'send-sms-batch', 'send-voice']) await queue(name).pause();
    const id = await issue('渔子溪村地质灾害气象风险橙色预警（重跑）');
    await waitUntil(() => fanoutDone(id), 'the fan-out done');
    const ownAlert = async () =>
      (
        await t.db.query(
          `SELECT a.seq, a.channel FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
             JOIN people p ON p.id = d.person_id
            WHERE d.warning_id = $1 AND p.external_id = 'P-GL1' AND a.purpose = 'warning' ORDER BY a.seq`,
          [id],
        )
      ).map((a: { seq: number; channel: string }) => `${a.seq}:${a.channel}`) as string[];
    const written = await ownAlert();
    expect(written.length).toBeGreaterThan(0);

    // The state the kill left: the leader's alert not written, a notice to them numbered 0.
    await t.db.query(
      `WITH gl AS (SELECT d.id FROM deliveries d JOIN people p ON p.id = d.person_id
                    WHERE d.warning_id = $1 AND p.external_id = 'P-GL1'),
            gone AS (DELETE FROM contact_attempts WHERE delivery_id IN (SELECT id FROM gl) RETURNING 1)
       INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind,
                                     address, priority, purpose, status)
       SELECT gl.id, $1, 1, 'alert', 0, 'sms', 'mobile', '+8613800000002', 5, 'notice', 'cancelled'
         FROM gl, (SELECT count(*) FROM gone) g`,
      [id],
    );
    await t.db.query(`UPDATE warnings SET fanout_done_at = NULL WHERE id = $1`, [id]);
    expect(await ownAlert()).toEqual([]);

    await t.app.get(FanoutService).run(id, 1);
    expect(await fanoutDone(id)).not.toBeNull();
    // Their own alert again, as the first run wrote it; the notice keeps its number.
    expect(await ownAlert()).toEqual(written);
  });
});
