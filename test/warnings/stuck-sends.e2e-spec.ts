import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { LifecycleService } from '../../src/modules/dispatch/lifecycle.service';
import { DispatchQueue } from '../../src/common/queue/dispatch-queue.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { dbFault } from '../helpers/db-fault';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import { smsAcceptedFor } from '../helpers/sandbox-sms';

const APP_SECRET = 'stuck-sends-e2e-secret'.padEnd(40, 's');
const CHIEF = PEOPLE.villageChief.mobile;

/**
 * The database refuses to record the result of a person's warning SMS (any change away from
 * `sending`), as if it went away at that moment on every try: the attempt is left `sending`
 * with its job failed (the job keeps the provider's acceptance). Dropped to let the database
 * "come back".
 */
const refuseRecording = (mobile: string) =>
  dbFault(
    'test_refuse_record',
    'contact_attempts',
    'UPDATE',
    `OLD.status = 'sending' AND NEW.status <> 'sending' AND NEW.channel = 'sms'
     AND NEW.purpose = 'warning' AND NEW.address = '${mobile}'`,
  );

describe('a send left in `sending` is brought back by the recovery sweep', () => {
  let t: TestApp;
  let sweep: LifecycleService;
  let smsQueue: Queue;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      // Two quick tries per round, so that the job fails within a second.
      env: { SEND_RETRY_ATTEMPTS: '2', SEND_RETRY_BACKOFF_MS: '100' },
    });
    // Nobody answers: an answer would rightly cancel the stuck SMS instead of sending it. And no
    // delivery receipt within the test: one would rightly mark the stuck SMS delivered.
    const slowReceipts = presetProfile('no-answer', { sms: { deliverAfterMs: 86_400_000 } });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, slowReceipts);
    sweep = t.app.get(LifecycleService, { strict: false });
    smsQueue = t.app.get(getQueueToken('send-sms'), { strict: false });
  });
  afterAll(() => t.close());

  /** The SMS the provider was asked to send for this attempt (its callback URL names it). */
  const smsOf = (attemptId: string) => smsAcceptedFor(t.sandbox!.carrier, attemptId);

  async function issueWithFault(headline: string, mobile: string) {
    const fault = refuseRecording(mobile);
    await t.db.query(fault.on);
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline }));
    expect(res.status).toBe(201);
    const warningId: string = res.body.id;
    // The provider accepted the SMS, then recording it failed on every try: the job is failed
    // (it keeps the acceptance), the row `sending`. The message was sent once, not once per try.
    const stuck = await waitUntil(async () => {
      const [a] = await t.db.query(
        `SELECT id, delivery_id, seq, tries, status FROM contact_attempts
          WHERE warning_id = $1 AND channel = 'sms' AND purpose = 'warning' AND address = $2`,
        [warningId, mobile],
      );
      if (a?.status !== 'sending') return undefined;
      const state = await smsQueue.getJobState(`attempt-${a.id}`);
      return state === 'failed' ? a : undefined;
    }, 'SMS job failed with its attempt left sending');
    expect(stuck.tries).toBe(1);
    expect(smsOf(stuck.id)).toHaveLength(1);
    await t.db.query(fault.off);
    return { warningId, stuck };
  }

  const status = async (id: string) =>
    (await t.db.query(`SELECT status, error_code FROM contact_attempts WHERE id = $1`, [id]))[0];

  it('leaves a recently claimed send alone, then records what the provider accepted once it is overdue (never sending it again)', async () => {
    const { warningId, stuck } = await issueWithFault('渔子溪村滑坡临灾预警（卡住重发）', CHIEF);

    // Claimed moments ago: a worker may still be on it, so the sweep does nothing.
    await sweep.recover();
    expect((await status(stuck.id)).status).toBe('sending');
    expect(await smsQueue.getJobState(`attempt-${stuck.id}`)).toBe('failed');

    await t.db.query(
      `UPDATE contact_attempts SET claimed_at = now() - interval '10 minutes' WHERE id = $1`,
      [stuck.id],
    );
    await sweep.recover();
    const sent = await waitUntil(async () => {
      const s = await status(stuck.id);
      return s.status === 'sent' ? s : undefined;
    }, 'stuck SMS recorded as sent');
    expect(sent.error_code).toBeNull();
    const [{ tries, providerId }] = await t.db.query(
      `SELECT tries, provider_id AS "providerId" FROM contact_attempts WHERE id = $1`,
      [stuck.id],
    );
    expect(tries).toBe(1);
    // Exactly once: a message the provider accepted is never sent again, only recorded.
    const created = smsOf(stuck.id);
    expect(created).toHaveLength(1);
    expect(providerId).toBe(created[0].ref);
    // And the person's delivery counts as reached.
    const [d] = await t.db.query(`SELECT state FROM deliveries WHERE id = $1`, [stuck.delivery_id]);
    expect(d.state).not.toBe('pending');
    expect(warningId).toBeTruthy();
  });

  it('asks the provider before sending a stuck SMS again whose job was lost: found there, it is recorded, not resent', async () => {
    const { stuck } = await issueWithFault('渔子溪村滑坡临灾预警（问询）', CHIEF);
    // The job and the acceptance it kept are lost (Redis lost them).
    await (await smsQueue.getJob(`attempt-${stuck.id}`))!.remove();
    await t.db.query(
      `UPDATE contact_attempts SET claimed_at = now() - interval '10 minutes' WHERE id = $1`,
      [stuck.id],
    );
    await sweep.recover();
    const [row] = await t.db.query(
      `SELECT status, provider_id AS "providerId" FROM contact_attempts WHERE id = $1`,
      [stuck.id],
    );
    const created = smsOf(stuck.id);
    expect(created).toHaveLength(1);
    expect(row).toEqual({ status: 'sent', providerId: created[0].ref });
  });

  it('asks the provider before a send job run again after its worker died: accepted there, it is recorded, not sent again', async () => {
    // Seen at 20k with kill -9 during escalation: 53 sends whose job ran again after their worker
    // died between the provider's acceptance and the record were sent twice.
    const { stuck } = await issueWithFault('渔子溪村滑坡临灾预警（进程被杀后重跑）', CHIEF);
    // As after a kill -9: the job runs again with nothing kept of the first try.
    await (await smsQueue.getJob(`attempt-${stuck.id}`))!.remove();
    await t.app
      .get(DispatchQueue, { strict: false })
      .enqueueAttempts([{ id: stuck.id, channel: 'sms', priority: 1 }]);
    const row = await waitUntil(async () => {
      const [r] = await t.db.query(
        `SELECT status, tries, provider_id AS "providerId" FROM contact_attempts WHERE id = $1`,
        [stuck.id],
      );
      return r.status === 'sent' ? r : undefined;
    }, 'the stuck SMS recorded as sent by its job run again');
    const created = smsOf(stuck.id);
    // Before: sent a second time by the job run again.
    expect(created).toHaveLength(1);
    expect(row).toEqual({ status: 'sent', tries: 2, providerId: created[0].ref });
  });

  it('takes a duplicate-key error while recording an accepted SMS for a recording problem: sent once, kept as sent', async () => {
    // Recording the provider's id violates a unique index (as when a replayed response repeats it).
    const fault = dbFault(
      'test_duplicate_id',
      'contact_attempts',
      'UPDATE',
      `NEW.provider_id IS NOT NULL AND OLD.provider_id IS NULL AND NEW.address = '${CHIEF}'`,
      '23505',
    );
    await t.db.query(fault.on);
    try {
      const res = await t
        .http()
        .post('/v1/warnings')
        .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
        .send(
          imminentWarning({
            headline: '渔子溪村滑坡临灾预警（重复编号）',
            audience: ['village_responsible'],
          }),
        );
      expect(res.status).toBe(201);
      const a = await waitUntil(async () => {
        const [row] = await t.db.query(
          `SELECT id, status, provider_id AS "providerId", error_message AS "errorMessage", tries FROM contact_attempts
            WHERE warning_id = $1 AND channel = 'sms' AND address = $2`,
          [res.body.id, CHIEF],
        );
        return row?.status === 'sent' ? row : undefined;
      }, 'SMS recorded as sent');
      expect(a).toMatchObject({ providerId: null, tries: 1 });
      expect(a.errorMessage).toContain('provider id');
      expect(smsOf(a.id)).toHaveLength(1);
    } finally {
      await t.db.query(fault.off);
    }
  });

  it('after three rounds of tries, fails the attempt and fails over to the next contact point', async () => {
    const { stuck } = await issueWithFault(
      '渔子溪村滑坡临灾预警（卡住放弃）',
      PEOPLE.deadMobile.mobile,
    );
    // Its job is lost too (Redis lost it), and the provider has nothing sent to the number since
    // the attempt was queued (as if no try had reached it: the queue time is moved past it).
    await (await smsQueue.getJob(`attempt-${stuck.id}`))!.remove();
    await t.db.query(
      `UPDATE contact_attempts SET claimed_at = now() - interval '10 minutes', tries = 6,
              queued_at = now() + interval '1 hour' WHERE id = $1`,
      [stuck.id],
    );
    await sweep.recover();
    const failed = await status(stuck.id);
    expect(failed).toEqual({ status: 'failed', error_code: 'send_lost' });
    // The resident's next contact point, the landline, gets a call instead.
    const next = await waitUntil(async () => {
      const [a] = await t.db.query(
        `SELECT channel, address, status FROM contact_attempts
          WHERE delivery_id = $1 AND seq > $2 AND purpose = 'warning' AND address = $3`,
        [stuck.delivery_id, stuck.seq, PEOPLE.deadMobile.landline],
      );
      return a && a.status !== 'queued' && a.status !== 'sending' ? a : undefined;
    }, 'failover call placed');
    expect(next.channel).toBe('voice');
    expect(['sent', 'delivered', 'completed']).toContain(next.status);
    const events = await t.db.query(
      `SELECT action FROM audit_events WHERE subject_id = $1 ORDER BY id`,
      [stuck.id],
    );
    expect(events.map((e: { action: string }) => e.action)).toEqual([
      'attempt.created',
      'attempt.failed',
    ]);
  });
});
