import { NumberLimits } from '../../src/modules/dispatch/number-limits';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'number-limits-e2e-secret'.padEnd(40, 'a');

/**
 * Carriers cap the calls one number receives. A retry the cap would block is never placed: the
 * attempt fails with its reason (number_limit) and the person's chain moves on to their next
 * contact point (here the landline), instead of calling into a block.
 */
describe('carrier limits per called number', () => {
  let t: TestApp;
  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      // The resident with a mobile and a landline lives under the slope: they are called.
      seedSql:
        villageFixtureSql(APP_SECRET) +
        `INSERT INTO hazard_site_people SELECT 'HP-1', id, 'threatened' FROM people WHERE external_id = '${PEOPLE.deadMobile.ext}';` +
        // An unanswered call is placed again two seconds later (the policy's retry, compressed).
        `UPDATE escalation_policies SET steps = (SELECT jsonb_agg(CASE WHEN s ? 'voiceRetries'
            THEN jsonb_set(s, '{voiceRetries}', '{"times": 1, "withinSeconds": 2}') ELSE s END) FROM jsonb_array_elements(steps) s);`,
      env: {
        TWILIO_CALLS_PER_SECOND: '20',
        TWILIO_SMS_PER_SECOND: '30',
        // One call per number per hour: a second call to a mobile is refused.
        CARRIER_LIMITS_VOICE: '1/1h',
        CARRIER_LIMITS_VOICE_NIGHT: '1/1h',
      },
    });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'silent');
    t.sandbox!.carrier.setProfile(PEOPLE.deadMobile.mobile, 'no-answer');
    t.sandbox!.carrier.setProfile(PEOPLE.deadMobile.landline, 'no-answer');
  });
  afterAll(() => t.close());

  it('refuses a retry past the limit with its reason and calls the next contact point', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '号码上限测试：滑坡临灾预警' }));
    expect(res.status).toBe(201);
    const warningId = res.body.id as string;
    const calls = async () =>
      t.db.query<{ address: string; status: string; outcome: string | null; error: string }[]>(
        `SELECT a.address, a.status, a.outcome, a.error_message AS error FROM contact_attempts a
           JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
          WHERE a.warning_id = $1 AND p.external_id = $2 AND a.channel = 'voice' ORDER BY a.seq`,
        [warningId, PEOPLE.deadMobile.ext],
      );
    await waitUntil(
      async () => (await calls()).some((c) => c.address === PEOPLE.deadMobile.landline),
      'the chain moves on to the landline',
    );
    const attempts = await calls();
    const refused = attempts.filter((c) => c.outcome === 'number_limit');
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((c) => c.address === PEOPLE.deadMobile.mobile)).toBe(true);
    expect(refused[0].status).toBe('failed');
    expect(refused[0].error).toContain('该号码已达运营商上限（每小时1次）');
    expect(refused[0].error).toContain('1 per h');
    // The carrier saw one call to the mobile, never a second one.
    const placed = t.sandbox!.carrier.events(
      (e) => e.type === 'call.created' && e.to === PEOPLE.deadMobile.mobile,
    );
    expect(placed).toHaveLength(1);
    // The refusal is in the audit log with its code.
    const [audit] = await t.db.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE warning_id = $1 AND action = 'attempt.failed' AND data->>'code' = 'number_limit'`,
      [warningId],
    );
    expect(audit.n).toBeGreaterThanOrEqual(1);
  });

  it('grants sends to one number in turn when they are judged together', async () => {
    const limits = t.app.get(NumberLimits);
    const [a1, a2] = await t.db.query<{ id: string }[]>(
      `SELECT gen_random_uuid() AS id UNION ALL SELECT gen_random_uuid()`,
    );
    const number = '+8613900009999';
    const verdicts = await Promise.all([
      limits.check(a1.id, 'voice', number),
      limits.check(a2.id, 'voice', number),
    ]);
    expect(verdicts.map((v) => v.kind)).toEqual(['ok', 'refused']);
  });
});
