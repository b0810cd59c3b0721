import { Client } from 'pg';
import { MessageRenderer } from '../../src/modules/dispatch/message-renderer';
import { TcpFaultProxy } from '../faults/harness/tcp-proxy';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { inboundSms, twilioPost } from '../helpers/twilio-webhooks';
import { waitUntil } from '../helpers/wait';

const APP_SECRET = 'inbound-spool-redis-down-secret'.padEnd(40, 'r');

/** Twilio gives up on a webhook after 15 s: past that, an answer is no answer at all. */
const TWILIO_WEBHOOK_TIMEOUT_MS = 15_000;

/**
 * Postgres and Redis both unreachable: an answer can be neither recorded nor kept, and the only
 * honest answer is a 503 with Retry-After, well within the provider's webhook timeout.
 */
describe('Postgres and Redis both unreachable: answers get 503 with Retry-After, within the webhook timeout', () => {
  let t: TestApp;
  let admin: Client;
  let database: string;
  let redis: TcpFaultProxy;
  const testRedisUrl = process.env.TEST_REDIS_URL as string;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    // The gateway reaches the test Redis through a proxy that can cut it.
    const target = new URL(testRedisUrl);
    redis = await TcpFaultProxy.start(target.hostname, Number(target.port));
    process.env.TEST_REDIS_URL = `redis://127.0.0.1:${redis.port}`;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { INBOUND_SPOOL_TIMEOUT_MS: '1000' },
    });
    [{ database }] = await t.db.query(`SELECT current_database() AS database`);
    admin = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
    await admin.connect();
  });
  afterAll(async () => {
    try {
      redis.up();
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
      await admin.end();
      // Back to health before closing (closing while the queue connections reconnect is slow).
      await waitUntil(
        async () => (await t.http().get('/health')).status === 200,
        'the gateway healthy again',
      );
    } finally {
      await t.close();
      await redis.close();
      process.env.TEST_REDIS_URL = testRedisUrl;
    }
  });

  it('answers an SMS reply, a keypress and a link answer 503 with Retry-After', async () => {
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );
    redis.cut();

    const started = Date.now();
    const sms = await inboundSms(t, PEOPLE.villageChief.mobile, '1').timeout(
      TWILIO_WEBHOOK_TIMEOUT_MS,
    );
    const smsMs = Date.now() - started;
    const gather = await twilioPost(
      t,
      '/webhooks/twilio/voice/00000000-0000-4000-8000-000000000001/gather?round=1',
      {
        AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
        CallSid: `CA${'7'.repeat(32)}`,
        Digits: '1',
      },
    ).timeout(TWILIO_WEBHOOK_TIMEOUT_MS);
    const token = t.app
      .get(MessageRenderer)
      .linkSigner.sign('00000000-0000-4000-8000-000000000002', new Date(Date.now() + 3600_000));
    const link = await t
      .http()
      .post(`/c/${token}`)
      .type('form')
      .send({ answer: 'confirm' })
      .timeout(TWILIO_WEBHOOK_TIMEOUT_MS);
    for (const res of [sms, gather, link]) {
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(res.body.error.messageEn).toMatch(/neither the database nor the queue backend/);
    }
    process.stderr.write(`[redis+postgres down] SMS webhook answered 503 in ${smsMs} ms\n`);
  });
});
