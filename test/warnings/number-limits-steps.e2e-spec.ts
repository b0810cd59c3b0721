import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { replacePolicy, responsiblePolicy } from '../helpers/policies';
import { waitUntil } from '../helpers/wait';
import { hoursFromNow } from '../helpers/warning-bodies';

const APP_SECRET = 'number-limits-steps-secret'.padEnd(40, 'b');

/**
 * The step planner and the carrier's limit per number (here 1 SMS per number in 10 minutes): a
 * second step whose SMS would go to the number the first step texted seconds ago is planned
 * on the next channel (a call to that number) instead, with the reason recorded.
 */
describe('carrier limits per number: the next step of a chain', () => {
  let t: TestApp;
  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: {
        TWILIO_CALLS_PER_SECOND: '10',
        TWILIO_SMS_PER_SECOND: '50',
        CARRIER_LIMITS_SMS: '1/10m',
        CARRIER_LIMITS_SMS_NIGHT: '1/10m',
        CARRIER_LIMITS_VOICE: 'off',
        CARRIER_LIMITS_VOICE_NIGHT: 'off',
      },
    });
    // Responsible persons: an SMS, five seconds later another one, then a long wait.
    await replacePolicy(
      t,
      responsiblePolicy({
        steps: [
          { channels: ['sms'], waitSeconds: 5 },
          { channels: ['sms'], waitSeconds: 600 },
        ],
        onExhausted: { notWoken: true, supervisor: false, doorToDoor: false },
        groupRuleSeconds: null,
      }),
    );
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'silent');
  });
  afterAll(() => t.close());

  it('plans a call instead of a second-step SMS the limit would block, and sends no second SMS', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send({
        kind: 'meteorological_risk',
        level: 'orange',
        hazard: 'landslide',
        headline: '号码上限测试：地质灾害气象风险橙色预警',
        description: '强降雨，地质灾害风险高。',
        instruction: '责任人立即上岗到位',
        areas: ['513221001001'],
        audience: ['grid_leader'],
        effective: hoursFromNow(0),
        expires: hoursFromNow(12),
      });
    expect(res.status).toBe(201);
    const warningId = res.body.id as string;
    const attempts = await waitUntil(async () => {
      const a = await t.db.query<
        {
          seq: number;
          channel: string;
          address: string;
          status: string;
          outcome: string | null;
          error: string | null;
        }[]
      >(
        `SELECT a.seq, a.channel, a.address, a.status, a.outcome, a.error_message AS error
           FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
           JOIN people p ON p.id = d.person_id
          WHERE a.warning_id = $1 AND p.external_id = $2 ORDER BY a.seq`,
        [warningId, PEOPLE.gridLeader.ext],
      );
      return a.some((x) => x.channel === 'voice' && !['queued', 'sending'].includes(x.status))
        ? a
        : undefined;
    }, 'the second step of the grid leader is planned and carried out');
    expect(attempts.map((a) => [a.seq, a.channel])).toEqual([
      [0, 'sms'],
      [1, 'voice'],
      [2, 'sms'],
    ]);
    expect(attempts[0].status).toMatch(/^(sent|delivered)$/);
    expect(attempts[2]).toMatchObject({ status: 'failed', outcome: 'number_limit' });
    expect(attempts.every((a) => a.address === PEOPLE.gridLeader.mobile)).toBe(true);
    expect(attempts[2].error).toContain(
      '计划时该号码已达运营商上限（每10分钟1次），改为语音电话（手机）',
    );
    expect(attempts[2].error).toContain('(1 per 10min); a call to the mobile instead');
    // One SMS to the number, never a second one; the call went out.
    const carrier = t.sandbox!.carrier;
    expect(
      carrier.events((e) => e.type === 'sms.created' && e.to === PEOPLE.gridLeader.mobile),
    ).toHaveLength(1);
    expect(
      carrier.events((e) => e.type === 'call.created' && e.to === PEOPLE.gridLeader.mobile),
    ).toHaveLength(1);
  });
});
