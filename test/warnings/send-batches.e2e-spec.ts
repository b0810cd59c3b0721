import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { startTestApp, type TestApp } from '../helpers/app';
import { oneNumberResidents, PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { riskWarning } from '../helpers/warning-bodies';
import { LifecycleService } from '../../src/modules/dispatch/lifecycle.service';

const APP_SECRET = 'send-batches-e2e'.padEnd(40, 'b');

/** Residents of grid 1, one mobile each. */
const RESIDENTS = 23;
const { people: RESIDENT_LIST, sql: residentsSql } = oneNumberResidents(RESIDENTS, '09', 'P-B');
/** TWILIO_SMS_PER_SECOND: batches of at most 10 people (a second of the rate). */
const SMS_PER_SECOND = 10;

/**
 * A warning's first SMS contacts go out a batch of people a job (`send-sms-batch`) instead of a
 * job each: the queue backend handles one job for ten people, their claims and recordings share
 * statements. Each attempt keeps its batch in its row: the recovery sweep leaves attempts whose
 * batch job still waits to it, and sends those of a lost batch job on their own.
 */
describe('send batches: a warning’s first SMS contacts, a batch of people a job', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const queue = (name: string) => t.app.get<Queue>(getQueueToken(name), { strict: false });
  const issue = async (headline: string) => {
    const res = await t.http().post('/v1/warnings').set(duty()).send(riskWarning({ headline }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
          .fanout_done_at,
      'the fan-out done',
    );
    return id;
  };
  const firstSms = (id: string) =>
    t.db.query<{ id: string; address: string; sendBatch: string | null; status: string }[]>(
      `SELECT id, address, send_batch AS "sendBatch", status FROM contact_attempts
        WHERE warning_id = $1 AND channel = 'sms' AND purpose = 'warning' AND seq = 0`,
      [id],
    );
  const allSent = (id: string) =>
    waitUntil(
      async () => {
        const rows = await firstSms(id);
        return rows.every((r) => ['sent', 'delivered'].includes(r.status)) ? rows : undefined;
      },
      'every first SMS sent',
      60_000,
    );
  /** The carrier's last event so far: what comes after it is this test's. */
  const mark = () => Math.max(0, ...t.sandbox!.carrier.events({}).map((e) => e.seq));
  /** SMS the carrier took per number since `since`, for these numbers. */
  const smsPerNumber = (numbers: string[], since: number) => {
    const counts = new Map(numbers.map((n) => [n, 0]));
    for (const e of t.sandbox!.carrier.events({ channel: 'sms', type: 'sms.created' })) {
      if (e.seq > since && e.to && counts.has(e.to)) counts.set(e.to, counts.get(e.to)! + 1);
    }
    return counts;
  };

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + residentsSql,
      env: {
        TWILIO_SMS_PER_SECOND: String(SMS_PER_SECOND),
        // The sweep runs when the test calls it.
        RECOVERY_INTERVAL_MS: '600000',
        RECOVERY_REQUEUE_AFTER_SECONDS: '60',
      },
    });
    for (const p of [...Object.values(PEOPLE), ...RESIDENT_LIST])
      t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
  });
  afterAll(async () => {
    await queue('send-sms-batch').resume();
    await t?.close();
  });

  it('sends first SMS in full batch jobs of a second of the rate, the rest alone, each person once', async () => {
    const since = mark();
    const id = await issue('渔子溪村地质灾害气象风险橙色预警（批量首发）');
    const rows = await allSent(id);
    expect(rows.length).toBeGreaterThanOrEqual(RESIDENTS);

    // Full batches of 10 (a second of the rate), one job each; the rest, fewer than a batch, a
    // job each on the SMS queue.
    const batches = new Map<string, number>();
    for (const r of rows)
      if (r.sendBatch) batches.set(r.sendBatch, (batches.get(r.sendBatch) ?? 0) + 1);
    expect([...batches.values()]).toEqual(
      Array.from({ length: Math.floor(rows.length / SMS_PER_SECOND) }, () => SMS_PER_SECOND),
    );
    for (const [batchId, size] of batches) {
      const job = await queue('send-sms-batch').getJob(`batch-${batchId}`);
      expect(await job?.getState()).toBe('completed');
      expect(job!.data.attemptIds).toHaveLength(size);
    }
    const alone = rows.filter((r) => !r.sendBatch);
    expect(alone).toHaveLength(rows.length % SMS_PER_SECOND);
    for (const r of rows) {
      const own = await queue('send-sms').getJob(`attempt-${r.id}`);
      if (r.sendBatch) expect(own).toBeUndefined();
      else expect(await own?.getState()).toBe('completed');
    }

    // The carrier took one SMS per number.
    const counts = smsPerNumber(
      rows.map((r) => r.address),
      since,
    );
    expect([...counts.values()]).toEqual(rows.map(() => 1));
  });

  it('leaves attempts whose batch job still waits to it; sends a lost batch job’s attempts alone', async () => {
    await queue('send-sms-batch').pause();
    const since = mark();
    const id = await issue('渔子溪村地质灾害气象风险橙色预警（批量补发）');
    const rows = await firstSms(id);
    const batched = rows.filter((r) => r.sendBatch);
    const batchIds = [...new Set(batched.map((r) => r.sendBatch!))];
    expect(batchIds.length).toBeGreaterThanOrEqual(2);
    // As if they had waited ten minutes (at a real rate, a large warning's batches do).
    await t.db.query(
      `UPDATE contact_attempts SET queued_at = queued_at - interval '10 minutes' WHERE warning_id = $1`,
      [id],
    );

    const sweep = t.app.get(LifecycleService);
    await sweep.recover();
    // Their batch jobs wait: nothing was added for them.
    for (const r of batched)
      expect(await queue('send-sms').getJob(`attempt-${r.id}`)).toBeUndefined();

    // One batch job lost (as with a queue backend that lost its data).
    const lost = batchIds[0];
    await (await queue('send-sms-batch').getJob(`batch-${lost}`))!.remove();
    await sweep.recover();
    for (const r of batched) {
      const own = await queue('send-sms').getJob(`attempt-${r.id}`);
      if (r.sendBatch === lost) expect(own).toBeDefined();
      else expect(own).toBeUndefined();
    }

    await queue('send-sms-batch').resume();
    const sent = await allSent(id);
    // Everyone once: the lost batch's people by their own jobs, the others by their batches.
    const counts = smsPerNumber(
      sent.map((r) => r.address),
      since,
    );
    expect([...counts.values()]).toEqual(sent.map(() => 1));
  });
});
