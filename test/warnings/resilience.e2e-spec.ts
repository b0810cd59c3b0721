import { startTestApp, type TestApp } from '../helpers/app';
import { FlakyProxy } from '../helpers/flaky-proxy';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { hoursFromNow } from '../helpers/warning-bodies';

const APP_SECRET = 'resilience-e2e-secret'.padEnd(40, 'r');

/** A person whose first number is malformed (a roster typo) and who also has an e-mail address. */
const TYPO = { ext: 'P-TYPO', name: '孙录错', badMobile: '12345', email: 'typo@example.cn' };
const typoSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code)
    VALUES ('${TYPO.ext}', '${TYPO.name}', 'village_responsible', '513221001001', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', '${TYPO.badMobile}', 1 FROM people WHERE external_id = '${TYPO.ext}'
    UNION ALL SELECT id, 'email', '${TYPO.email}', 2 FROM people WHERE external_id = '${TYPO.ext}';`;

function imminent(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'imminent',
    level: 'red',
    hazard: 'debris_flow',
    headline: '渔子溪沟泥石流临灾预警',
    description: '上游强降雨，渔子溪沟可能暴发泥石流。',
    instruction: '立即向两侧高处撤离',
    areas: ['513221001001'],
    effective: hoursFromNow(0),
    onset: hoursFromNow(1),
    expires: hoursFromNow(12),
    extent: '沟口至下游500米',
    impact: { people: 40, households: 12 },
    shelter: '村委会广场',
    ...overrides,
  };
}

describe('provider faults: retries, permanent failures, failover and rate limits', () => {
  let t: TestApp;
  let proxy: FlakyProxy;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    // The first three SMS requests to Twilio fail with 503; calls are limited to one per second.
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + typoSql,
      env: { TWILIO_CALLS_PER_SECOND: '1' },
      beforeApp: async (sandbox) => {
        proxy = await FlakyProxy.start(sandbox!.carrier.baseUrl, /Messages\.json$/, 3);
        process.env.TWILIO_API_BASE_URL = proxy.baseUrl;
      },
    });
    // Nobody picks up: every SMS has to go out, however many tries it takes.
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
  });
  afterAll(async () => {
    await t.close();
    await proxy.close();
  });

  let warningId: string;

  it('retries transient provider errors with backoff until the message goes out', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminent());
    expect(res.status).toBe(201);
    warningId = res.body.id;
    await waitUntil(async () => proxy.failed === 3, 'three failed SMS requests');
    const sent = await waitUntil(
      async () => {
        const rows = await t.db.query(
          `SELECT status, tries FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms' AND address = $2`,
          [warningId, PEOPLE.villageChief.mobile],
        );
        return ['sent', 'delivered'].includes(rows[0]?.status) ? rows[0] : undefined;
      },
      'SMS sent after retries',
      60_000,
    );
    expect(sent.tries).toBeGreaterThanOrEqual(1);
    const all = await waitUntil(
      async () => {
        const [r] = await t.db.query(
          `SELECT sum(tries)::int AS tries, count(*)::int AS n, count(*) FILTER (WHERE status IN ('queued', 'sending'))::int AS pending
           FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms'`,
          [warningId],
        );
        return r.pending === 0 ? [r] : undefined;
      },
      'every SMS attempt settled',
      60_000,
    );
    const attempts = await t.db.query(
      `SELECT address, status, tries, error_code FROM contact_attempts WHERE warning_id = $1 AND channel = 'sms' AND address LIKE '+%'`,
      [warningId],
    );
    // No transient failure lost a message, and the three failed requests were each tried again.
    for (const a of attempts) expect(['sent', 'delivered']).toContain(a.status);
    const tries = attempts.reduce((n: number, a: { tries: number }) => n + a.tries, 0);
    expect(tries).toBe(attempts.length + 3);
    expect(all[0].pending).toBe(0);
  });

  it('fails an attempt at once on a permanent error (invalid number) and moves to the next contact point', async () => {
    const rows = await waitUntil(async () => {
      const r = await t.db.query(
        `SELECT a.channel, a.address, a.status, a.error_code, a.tries FROM contact_attempts a
           JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
          WHERE a.warning_id = $1 AND p.external_id = $2 ORDER BY a.seq`,
        [warningId, TYPO.ext],
      );
      return r.some(
        (x: { channel: string; status: string }) => x.channel === 'email' && x.status === 'sent',
      )
        ? r
        : undefined;
    }, 'failover to e-mail');
    const badSms = rows.find((r: { channel: string }) => r.channel === 'sms');
    // Refused before or by Twilio (21211): either way once, with no retry.
    expect(badSms).toMatchObject({ status: 'failed', tries: 1 });
    expect(badSms.error_code).toMatch(/^(21211|invalid_number)$/);
  });

  it('keeps voice calls within the configured rate across the workers', async () => {
    const created = await waitUntil(
      async () => {
        const calls = t.sandbox!.carrier.events({ type: 'call.created' });
        return calls.length >= 4 ? calls : undefined;
      },
      'four calls placed',
      60_000,
    );
    const times = created.map((e) => Date.parse(e.at)).sort((a, b) => a - b);
    // With TWILIO_CALLS_PER_SECOND=1, no one-second window holds more than two call requests
    // (one per window, plus one at a window's edge); unthrottled they would all land at once.
    for (let i = 0; i + 2 < times.length; i++)
      expect(times[i + 2] - times[i]).toBeGreaterThanOrEqual(1000);
  });
});
