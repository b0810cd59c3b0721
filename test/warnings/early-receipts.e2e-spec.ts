import { startTestApp, type TestApp } from '../helpers/app';
import { FlakyProxy } from '../helpers/flaky-proxy';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'early-receipts-e2e-secret'.padEnd(40, 'k');

describe('provider callbacks that overtake the API response', () => {
  let t: TestApp;
  let proxy: FlakyProxy;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      beforeApp: async (sandbox) => {
        // Twilio answers "created" slowly; its status callbacks come first.
        proxy = await FlakyProxy.start(sandbox!.carrier.baseUrl, /(Messages|Calls)\.json$/, 0);
        proxy.responseDelayMs = 1500;
        process.env.TWILIO_API_BASE_URL = proxy.baseUrl;
      },
    });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    t.sandbox!.carrier.setProfile(PEOPLE.villageChief.mobile, 'confirms');
  });
  afterAll(async () => {
    await t.close();
    await proxy.close();
  });

  it('keeps a receipt that came before the send was recorded, and records the send too', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ audience: ['village_responsible'] }));
    expect(res.status).toBe(201);
    const warningId: string = res.body.id;
    const attempt = (channel: string) =>
      waitUntil(async () => {
        const [a] = await t.db.query(
          `SELECT id, status, provider_id, sent_at FROM contact_attempts
            WHERE warning_id = $1 AND channel = $2 AND address = $3 ORDER BY seq LIMIT 1`,
          [warningId, channel, PEOPLE.villageChief.mobile],
        );
        return a?.provider_id && a.status !== 'sent' ? a : undefined;
      }, `${channel} recorded with its final status`);

    // The delivery receipt reached the gateway before the API response did.
    const sms = await attempt('sms');
    expect(sms.status).toBe('delivered');
    expect(sms.sent_at).toBeInstanceOf(Date);
    const delivered = t.sandbox!.carrier.events({
      type: 'sms.status',
      to: PEOPLE.villageChief.mobile,
    });
    expect(delivered.length).toBeGreaterThan(0);

    // The call too: played, answered by keypress and completed while the API was still answering.
    const call = await attempt('voice');
    expect(call.status).toBe('completed');
    const [d] = await t.db.query(
      `SELECT d.state FROM deliveries d JOIN people p ON p.id = d.person_id
        WHERE d.warning_id = $1 AND p.external_id = $2`,
      [warningId, PEOPLE.villageChief.ext],
    );
    expect(d.state).toBe('confirmed');

    // Each recorded once in the audit log, the send included.
    const events = await t.db.query(
      `SELECT subject_id, action, count(*)::int AS n FROM audit_events
        WHERE subject_id = ANY($1) AND action IN ('attempt.sent', 'attempt.delivered', 'attempt.completed')
        GROUP BY subject_id, action ORDER BY action`,
      [[sms.id, call.id]],
    );
    expect(events).toEqual(
      expect.arrayContaining([
        { subject_id: sms.id, action: 'attempt.sent', n: 1 },
        { subject_id: sms.id, action: 'attempt.delivered', n: 1 },
        { subject_id: call.id, action: 'attempt.sent', n: 1 },
        { subject_id: call.id, action: 'attempt.completed', n: 1 },
      ]),
    );
  });
});
