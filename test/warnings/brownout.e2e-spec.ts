import { startTestApp, type TestApp } from '../helpers/app';
import { FlakyProxy } from '../helpers/flaky-proxy';
import { oneNumberResidents, PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import { namesSend } from '../helpers/sandbox-sms';

const APP_SECRET = 'brownout-e2e-secret'.padEnd(40, 'b');

/** Residents with one mobile number each and nothing else: no other contact point to fail over to. */
const { people: ONE_NUMBER, sql: oneNumberSql } = oneNumberResidents(10, '03', 'P-ONE');

/** Failed SMS requests at the start of the warning: the only SMS provider has a bad minute. */
const FAILURES = 6;

describe('a provider brownout opens the circuit: sends wait for the provider instead of failing people over', () => {
  let t: TestApp;
  let proxy: FlakyProxy;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + oneNumberSql,
      env: {
        // The circuit opens after three failed calls and tries again after 1.5 s.
        BREAKER_MIN_REQUESTS: '3',
        BREAKER_FAILURE_THRESHOLD_PERCENT: '50',
        BREAKER_RESET_MS: '1500',
        // More tries than failed requests: no send can run out of tries on 500s alone.
        SEND_RETRY_ATTEMPTS: String(FAILURES + 2),
        SEND_RETRY_BACKOFF_MS: '100',
        TWILIO_SMS_PER_SECOND: '50',
      },
      beforeApp: async (sandbox) => {
        proxy = await FlakyProxy.start(sandbox!.carrier.baseUrl, /Messages\.json$/, FAILURES, 500);
        process.env.TWILIO_API_BASE_URL = proxy.baseUrl;
      },
    });
    const everyone = [
      ...Object.values(PEOPLE).map((p) => p.mobile),
      ...ONE_NUMBER.map((p) => p.mobile),
    ];
    for (const m of everyone) t.sandbox!.carrier.setProfile(m, 'no-answer');
  });
  afterAll(async () => {
    await t.close();
    await proxy.close();
    delete process.env.TWILIO_API_BASE_URL;
  });

  it('sends every SMS once the provider is back; nobody becomes unreachable, nothing goes twice', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning());
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(async () => proxy.failed === FAILURES, 'the provider failing');
    const sms = await waitUntil(
      async () => {
        const rows: { id: string; status: string; outcome: string | null }[] = await t.db.query(
          `SELECT id, status, outcome FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms'`,
          [id],
        );
        return rows.length && rows.every((r) => !['queued', 'sending'].includes(r.status))
          ? rows
          : undefined;
      },
      'every SMS settled',
      90_000,
    );
    // The circuit did open (more requests than people: some were refused by it and waited).
    expect(proxy.hits).toBeGreaterThan(FAILURES);
    for (const a of sms)
      expect([a.id, a.status]).toEqual([a.id, expect.stringMatching(/^(sent|delivered)$/)]);
    expect(sms.filter((a) => a.outcome === 'circuit_open')).toEqual([]);
    const unreachable = await t.db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE warning_id = $1 AND state = 'unreachable'`,
      [id],
    );
    expect(unreachable[0].n).toBe(0);
    // Each attempt reached the provider once (its callback URL names it).
    const created = t.sandbox!.carrier.events({ type: 'sms.created' });
    for (const a of sms) {
      const n = created.filter((e) => namesSend(e, a.id)).length;
      expect([a.id, n]).toEqual([a.id, 1]);
    }
  });
});
