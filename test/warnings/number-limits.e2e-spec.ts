import { NumberLimits } from '../../src/modules/dispatch/number-limits';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'number-limits-e2e-secret'.padEnd(40, 'a');

interface AttemptSeen {
  id: string;
  seq: number;
  channel: string;
  address: string;
  status: string;
  outcome: string | null;
  error: string | null;
  queuedAt: Date;
}

/**
 * Carriers cap the calls one number receives (here 1 call per number in 10 minutes). The planner
 * never plans a call retry onto a number whose window will still be full when the retry is due:
 * the retry is written as not sent (outcome number_limit, with its reason in Chinese and English)
 * and the next contact point on the same channel, else the next channel, is planned instead.
 * What is placed outside the planner (a duty officer's "call again") is still refused at send time.
 */
describe('carrier limits per called number', () => {
  let t: TestApp;
  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      // Both residents live under the slope: they are called.
      seedSql:
        villageFixtureSql(APP_SECRET) +
        `INSERT INTO hazard_site_people SELECT 'HP-1', id, 'threatened' FROM people WHERE external_id = '${PEOPLE.deadMobile.ext}';` +
        // An unanswered call is placed again two seconds later (the policy's retry, compressed).
        `UPDATE escalation_policies SET steps = (SELECT jsonb_agg(CASE WHEN s ? 'voiceRetries'
            THEN jsonb_set(s, '{voiceRetries}', '{"times": 1, "withinSeconds": 2}') ELSE s END) FROM jsonb_array_elements(steps) s);`,
      env: {
        TWILIO_CALLS_PER_SECOND: '20',
        TWILIO_SMS_PER_SECOND: '30',
        // One call per number in ten minutes, day and night; SMS unlimited.
        CARRIER_LIMITS_VOICE: '1/10m',
        CARRIER_LIMITS_VOICE_NIGHT: '1/10m',
        CARRIER_LIMITS_SMS: 'off',
        CARRIER_LIMITS_SMS_NIGHT: 'off',
      },
    });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'silent');
    t.sandbox!.carrier.setProfile(PEOPLE.resident.mobile, 'no-answer');
    t.sandbox!.carrier.setProfile(PEOPLE.deadMobile.mobile, 'no-answer');
    t.sandbox!.carrier.setProfile(PEOPLE.deadMobile.landline, 'no-answer');
  });
  afterAll(() => t.close());

  const attemptsOf = (warningId: string, ext: string) =>
    t.db.query<AttemptSeen[]>(
      `SELECT a.id, a.seq, a.channel, a.address, a.status, a.outcome, a.error_message AS error,
              a.queued_at AS "queuedAt"
         FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
        WHERE a.warning_id = $1 AND p.external_id = $2 ORDER BY a.seq`,
      [warningId, ext],
    );
  const callsTo = (number: string) =>
    t.sandbox!.carrier.events((e) => e.type === 'call.created' && e.to === number);

  let warningId: string;

  it('plans the next channel instead of a call retry the limit would block, and says why', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '号码上限测试：滑坡临灾预警' }));
    expect(res.status).toBe(201);
    warningId = res.body.id as string;

    // The resident has one mobile: the retry becomes an SMS to it (the other channel).
    // What goes instead is written first, then the record of what did not: wait for both.
    await waitUntil(async () => {
      const seen = await attemptsOf(warningId, PEOPLE.resident.ext);
      return (
        seen.filter((a) => a.channel === 'sms').length >= 2 &&
        seen.some((a) => a.outcome === 'number_limit')
      );
    }, 'the blocked retry of the resident is replaced by an SMS, and recorded');
    const resident = await attemptsOf(warningId, PEOPLE.resident.ext);
    const blocked = resident.filter((a) => a.outcome === 'number_limit');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({
      channel: 'voice',
      address: PEOPLE.resident.mobile,
      status: 'failed',
    });
    expect(blocked[0].error).toContain('计划时该号码已达运营商上限（每10分钟1次），改为短信');
    expect(blocked[0].error).toContain('(1 per 10min); an SMS to the mobile instead');
    const replacement = resident.find((a) => a.seq === blocked[0].seq - 1);
    expect(replacement).toMatchObject({ channel: 'sms', address: PEOPLE.resident.mobile });
    expect(resident.filter((a) => a.channel === 'voice')).toHaveLength(2);

    // The resident with a landline: the retry becomes a call to the landline (same channel).
    await waitUntil(
      async () =>
        (await attemptsOf(warningId, PEOPLE.deadMobile.ext)).some(
          (a) => a.address === PEOPLE.deadMobile.landline,
        ),
      'the blocked retry of the second resident is replaced by a call to the landline',
    );
    const second = await attemptsOf(warningId, PEOPLE.deadMobile.ext);
    const blocked2 = second.filter((a) => a.outcome === 'number_limit');
    expect(blocked2).toHaveLength(1);
    expect(blocked2[0]).toMatchObject({ channel: 'voice', address: PEOPLE.deadMobile.mobile });
    expect(blocked2[0].error).toContain('改为语音电话（固定电话）');
    expect(second.find((a) => a.seq === blocked2[0].seq - 1)).toMatchObject({
      channel: 'voice',
      address: PEOPLE.deadMobile.landline,
    });

    // Nothing went past the limit: one call to each mobile at the carrier.
    await waitUntil(
      async () => callsTo(PEOPLE.deadMobile.landline).length === 1,
      'the landline is called',
    );
    expect(callsTo(PEOPLE.resident.mobile)).toHaveLength(1);
    expect(callsTo(PEOPLE.deadMobile.mobile)).toHaveLength(1);

    // The chain's timeline and the audit log say so.
    const [person] = await t.db.query<{ id: string }[]>(
      `SELECT id FROM people WHERE external_id = $1`,
      [PEOPLE.resident.ext],
    );
    const timeline = await t
      .http()
      .get(`/v1/warnings/${warningId}/chains/${person.id}`)
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` });
    expect(timeline.status).toBe(200);
    const failed = (
      timeline.body.events as { type: string; outcome?: string; errorMessage?: string }[]
    ).filter((e) => e.type === 'attempt_failed' && e.outcome === 'number_limit');
    expect(failed).toHaveLength(1);
    expect(failed[0].errorMessage).toContain('改为短信');
    const [audit] = await t.db.query(
      `SELECT count(*)::int AS n FROM audit_events
        WHERE warning_id = $1 AND action = 'attempt.failed' AND data->>'code' = 'number_limit'
          AND data->>'planned' = 'true'`,
      [warningId],
    );
    expect(audit.n).toBe(2);
  });

  it('still refuses at send time a call placed outside the planner (call again)', async () => {
    const [person] = await t.db.query<{ id: string }[]>(
      `SELECT id FROM people WHERE external_id = $1`,
      [PEOPLE.resident.ext],
    );
    const res = await t
      .http()
      .post(`/v1/warnings/${warningId}/people/${person.id}/call`)
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` });
    expect(res.status).toBe(202);
    const id = res.body.attemptId as string;
    await waitUntil(
      async () =>
        (await attemptsOf(warningId, PEOPLE.resident.ext)).some(
          (a) => a.id === id && a.status === 'failed',
        ),
      'the call again is refused at send time',
    );
    const again = (await attemptsOf(warningId, PEOPLE.resident.ext)).find((a) => a.id === id)!;
    expect(again.outcome).toBe('number_limit');
    expect(again.error).toContain('该号码已达运营商上限（每10分钟1次），改用下一联系方式');
    expect(callsTo(PEOPLE.resident.mobile)).toHaveLength(1);
  });

  it('plans the first step of a new warning around the calls an earlier one made, for the whole batch', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '号码上限测试：第二次滑坡临灾预警' }));
    expect(res.status).toBe(201);
    const second = res.body.id as string;
    for (const ext of [PEOPLE.resident.ext, PEOPLE.deadMobile.ext]) {
      const sms = await waitUntil(async () => {
        const a = await attemptsOf(second, ext);
        return a.some((x) => x.channel === 'sms' && x.status !== 'queued') ? a : undefined;
      }, `the SMS of the second warning to ${ext} is sent`);
      // Every number of theirs was called within ten minutes, and their SMS is planned already:
      // the call is not planned, and the chain says so.
      const calls = sms.filter((a) => a.channel === 'voice');
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ status: 'failed', outcome: 'number_limit' });
      expect(calls[0].error).toContain(
        '计划时该号码已达运营商上限（每10分钟1次），无其他可用联系方式',
      );
      expect(calls[0].error).toContain('no other contact point: not sent, the chain goes on');
    }
    // Still one call to each number at the carrier.
    expect(callsTo(PEOPLE.resident.mobile)).toHaveLength(1);
    expect(callsTo(PEOPLE.deadMobile.mobile)).toHaveLength(1);
    expect(callsTo(PEOPLE.deadMobile.landline)).toHaveLength(1);
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
