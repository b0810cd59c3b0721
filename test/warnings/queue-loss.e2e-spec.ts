import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import Redis from 'ioredis';
import { startTestApp, type TestApp } from '../helpers/app';
import { oneNumberResidents, PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { testRedisUrl } from '../helpers/redis';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import { namesSend } from '../helpers/sandbox-sms';

const APP_SECRET = 'queue-loss-e2e-secret'.padEnd(40, 'q');

/** Residents with one mobile each: enough SMS that many still wait in the queue at 2 per second. */
const { people: MANY, sql: manySql } = oneNumberResidents(20, '05', 'P-Q');

describe('the queue backend loses its data: the gateway rebuilds the work from Postgres, and /health says when work is overdue', () => {
  let t: TestApp;
  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  /** The SMS queues: jobs of their own, and batch jobs of a warning's first SMS. */
  const smsQueues = () =>
    ['send-sms', 'send-sms-batch'].map((name) =>
      t.app.get<Queue>(getQueueToken(name), { strict: false }),
    );
  const pauseSms = async () => {
    for (const q of smsQueues()) await q.pause();
  };
  const resumeSms = async () => {
    for (const q of smsQueues()) await q.resume();
  };
  const issue = async (headline: string) => {
    const res = await t.http().post('/v1/warnings').set(duty()).send(imminentWarning({ headline }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT fanout_done_at FROM warnings WHERE id = $1`, [id]))[0]
          .fanout_done_at,
      'fan-out done',
    );
    return id;
  };
  const settled = (id: string) =>
    waitUntil(
      async () => {
        const rows: { id: string; status: string }[] = await t.db.query(
          `SELECT id, status FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms'`,
          [id],
        );
        return rows.every((r) => ['sent', 'delivered'].includes(r.status)) ? rows : undefined;
      },
      'every SMS sent',
      90_000,
    );

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + manySql,
      env: {
        RECOVERY_INTERVAL_MS: '1000',
        RECEIPT_POLL_AFTER_SECONDS: '30',
        HEALTH_OVERDUE_SECONDS: '30',
        TWILIO_SMS_PER_SECOND: '2',
      },
    });
    for (const p of [...Object.values(PEOPLE), ...MANY])
      t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
  });
  afterAll(() => t.close());

  it('reports the real backlog and "degraded" while sends wait too long, then "ok" again', async () => {
    await pauseSms();
    try {
      const id = await issue('渔子溪村滑坡临灾预警（积压）');
      const healthy = await t.http().get('/health');
      expect(healthy.status).toBe(200);
      expect(healthy.body.status).toBe('ok');
      // The queued SMS (imminent: prioritized jobs) show in the backlog: at 2 SMS/s the first
      // contacts go in batch jobs of 2 people.
      const batches = healthy.body.details.queues['send-sms-batch'];
      expect(batches.prioritized + batches.waiting).toBeGreaterThan(0);
      expect(healthy.body.details.work.queuedSends).toBeGreaterThan(0);

      // As if they had waited a minute: overdue.
      await t.db.query(
        `UPDATE contact_attempts SET queued_at = now() - interval '1 minute' WHERE warning_id = $1 AND status = 'queued'`,
        [id],
      );
      const late = await t.http().get('/health');
      expect(late.status).toBe(200);
      expect(late.body.status).toBe('degraded');
      expect(late.body.details.work).toMatchObject({ state: 'degraded' });
      expect(late.body.details.work.overdueSends).toBeGreaterThan(0);

      await resumeSms();
      await settled(id);
      // Every attempt backdated above (calls too, which may still wait behind the SMS on a
      // loaded machine) must have left the queue before the work is no longer overdue.
      await waitUntil(
        async () => (await t.http().get('/health')).body.status === 'ok',
        '/health "ok" again once the overdue sends went out',
      );
    } finally {
      await resumeSms();
    }
  });

  it('rebuilds lost jobs after Redis is emptied: every SMS goes out, once', async () => {
    const id = await issue('渔子溪村滑坡临灾预警（队列丢失）');
    // Everything of this gateway in Redis is gone: jobs, schedules, limiter state.
    const [{ queued }] = await t.db.query(
      `SELECT count(*)::int AS queued FROM contact_attempts WHERE warning_id = $1 AND status = 'queued'`,
      [id],
    );
    expect(queued).toBeGreaterThan(0);
    const redis = new Redis(testRedisUrl());
    try {
      const keys = await redis.keys(`${process.env.QUEUE_PREFIX}*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    // As if a minute had passed: the sweep re-enqueues what is still queued in Postgres.
    await t.db.query(
      `UPDATE contact_attempts SET queued_at = now() - interval '2 minutes' WHERE warning_id = $1 AND status = 'queued'`,
      [id],
    );
    const rows = await settled(id);
    const created = t.sandbox!.carrier.events({ type: 'sms.created' });
    for (const a of rows) {
      const n = created.filter((e) => namesSend(e, a.id)).length;
      expect([a.id, n]).toEqual([a.id, 1]);
    }
  });

  it('asks the provider about a send whose status callback never came, and applies what it says', async () => {
    const id = await issue('渔子溪村滑坡临灾预警（回执丢失）');
    const [sms] = await waitUntil(async () => {
      const rows: { id: string }[] = await t.db.query(
        `SELECT id FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms' AND status = 'delivered' LIMIT 1`,
        [id],
      );
      return rows.length ? rows : undefined;
    }, 'an SMS delivered');
    // As if its delivery receipt had been lost (the gateway down when Twilio called) long ago.
    await t.db.query(
      `UPDATE contact_attempts SET status = 'sent', delivered_at = NULL, sent_at = now() - interval '5 minutes'
        WHERE id = $1`,
      [sms.id],
    );
    await waitUntil(async () => {
      const [row] = await t.db.query(`SELECT status FROM contact_attempts WHERE id = $1`, [sms.id]);
      return row.status === 'delivered';
    }, 'the status asked of the provider and applied');
  });
});
