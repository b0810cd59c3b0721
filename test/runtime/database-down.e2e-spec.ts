import { Client } from 'pg';
import { startTestApp, type TestApp } from '../helpers/app';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { twilioPost } from '../helpers/twilio-webhooks';

const APP_SECRET = 'database-down-e2e-secret'.padEnd(40, 'd');

describe('Postgres unreachable: the API and the provider webhooks answer 503 with Retry-After, fast', () => {
  let t: TestApp;
  let admin: Client;
  let database: string;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) });
    [{ database }] = await t.db.query(`SELECT current_database() AS database`);
    admin = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
    await admin.end();
    await t.close();
  });

  it('answers 503 while the database refuses connections, and 200 again once it is back', async () => {
    const duty = { Authorization: `Bearer ${t.tokens.duty_officer}` };
    expect((await t.http().get('/v1/warnings').set(duty)).status).toBe(200);

    // The database goes away for the gateway: its connections end and new ones are refused.
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );

    const api = await t.http().get('/v1/warnings').set(duty);
    expect(api.status).toBe(503);
    expect(api.headers['retry-after']).toBe('5');
    expect(api.body.error.code).toBe('SERVICE_UNAVAILABLE');
    // A provider's status callback is not lost: Twilio retries a 503.
    const callback = await twilioPost(t, '/webhooks/twilio/sms/status', {
      AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
      MessageSid: `SM${'a'.repeat(32)}`,
      SmsSid: `SM${'a'.repeat(32)}`,
      MessageStatus: 'delivered',
      To: '+8613800000001',
      From: t.sandbox!.env.TWILIO_FROM_NUMBER,
    });
    expect(callback.status).toBe(503);
    expect(callback.headers['retry-after']).toBe('5');

    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
    let back = 0;
    for (let i = 0; i < 50 && back !== 200; i++) {
      back = (await t.http().get('/v1/warnings').set(duty)).status;
      if (back !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(back).toBe(200);
  });
});
