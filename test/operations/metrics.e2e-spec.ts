import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'metrics-e2e-secret'.padEnd(40, 'm');

describe('/metrics: what an operator watches', () => {
  let t: TestApp;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'confirms');
  });
  afterAll(() => t.close());

  it('has deliveries by state, attempts by channel, queues, provider calls and overdue work, and no phone number', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning());
    expect(res.status).toBe(201);
    const text = await waitUntil(async () => {
      const m = (await t.http().get('/metrics')).text;
      return /wg_provider_calls_total\{provider="twilio:sms",outcome="accepted"\} [1-9]/.test(m)
        ? m
        : undefined;
    }, 'SMS accepted by the provider, counted');
    expect(text).toMatch(/wg_deliveries\{state="[a-z]+"\} [1-9]/);
    expect(text).toMatch(/wg_attempts\{channel="sms",purpose="warning",status="[a-z]+"\} [1-9]/);
    expect(text).toMatch(/wg_queue_jobs\{queue="send-sms",state="prioritized"\} \d+/);
    expect(text).toMatch(/wg_overdue_work\{kind="sends"\} 0/);
    expect(text).toMatch(/wg_provider_latency_seconds_count\{provider="twilio:sms"\} [1-9]/);
    expect(text).toMatch(/wg_breaker_state\{provider="twilio:sms"\} 0/);
    await waitUntil(
      async () =>
        /wg_answers_total\{channel="voice",kind="confirm",effective="true"\} [1-9]/.test(
          (await t.http().get('/metrics')).text,
        ),
      'answers counted',
    );
    for (const p of Object.values(PEOPLE)) expect(text).not.toContain(p.mobile.slice(3));
  });
});
