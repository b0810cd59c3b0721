import { presetProfile } from '../../src/sandbox/person-profiles';
import { startTestApp, type TestApp } from '../helpers/app';
import { FlakyProxy } from '../helpers/flaky-proxy';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import { smsAcceptedFor } from '../helpers/sandbox-sms';

const APP_SECRET = 'unanswered-sends-e2e-secret'.padEnd(40, 'u');
const CHIEF = PEOPLE.villageChief.mobile;
/** The gateway gives up on a Twilio request after this long (TWILIO_TIMEOUT_MS). */
const TIMEOUT_MS = 1_000;
/** Twilio gets the first SMS this long after it was posted: well after the gateway gave up. */
const LATE_MS = 2_500;
/**
 * SEND_UNANSWERED_SETTLE_MS: the time Twilio is given to take a request it left unanswered (well
 * beyond LATE_MS, so that a loaded machine still forwards the late request within it).
 */
const SETTLE_MS = 8_000;

/**
 * Seen in the fault suite under load: Twilio answered an SMS request too late, the gateway's
 * request timed out, and the send's next try (two seconds later) asked Twilio whether it had the
 * message. The request was still on its way: Twilio said no, the SMS was sent again, and then
 * the first request arrived too. The person got the warning twice.
 */
describe('a send whose request Twilio left unanswered', () => {
  let t: TestApp;
  let proxy: FlakyProxy;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: {
        TWILIO_TIMEOUT_MS: String(TIMEOUT_MS),
        SEND_UNANSWERED_SETTLE_MS: String(SETTLE_MS),
        SEND_RETRY_BACKOFF_MS: '100',
      },
      beforeApp: async (sandbox) => {
        proxy = await FlakyProxy.start(sandbox!.carrier.baseUrl, /Messages\.json$/, 0);
        process.env.TWILIO_API_BASE_URL = proxy.baseUrl;
      },
    });
    // Nobody answers and no receipt comes within the test: the SMS stays `sent`.
    const silent = presetProfile('no-answer', { sms: { deliverAfterMs: 86_400_000 } });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, silent);
  });
  afterAll(async () => {
    await t.close();
    await proxy.close();
  });

  /** The SMS Twilio accepted for this attempt (its callback URL names it). */
  const smsOf = (attemptId: string) => smsAcceptedFor(t.sandbox!.carrier, attemptId);

  it('is sent once: its next try waits for Twilio to take the late request, finds it there and records it', async () => {
    proxy.requestDelayMs = LATE_MS;
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '渔子溪村滑坡临灾预警（请求未获应答）' }));
    expect(res.status).toBe(201);
    // Every first request of the warning is late (the village's other SMS too) until the
    // gateway has given up on the chief's.
    const gaveUp = await waitUntil(async () => {
      const [a] = await t.db.query(
        `SELECT id, status, unanswered_at AS "unansweredAt" FROM contact_attempts
          WHERE warning_id = $1 AND channel = 'sms' AND purpose = 'warning' AND address = $2`,
        [res.body.id, CHIEF],
      );
      return a?.unansweredAt ? a : undefined;
    }, 'the gateway gave up waiting for the answer to the chief SMS');
    // A try after it would reach Twilio at once.
    proxy.requestDelayMs = 0;
    const attempt = { id: gaveUp.id as string };
    // Nothing is recorded of it: it may or may not be at Twilio.
    expect(gaveUp.status).toBe('sending');

    const row = await waitUntil(
      async () => {
        const [r] = await t.db.query(
          `SELECT status, provider_id AS "providerId", sent_at AS "sentAt",
                  unanswered_at AS "unansweredAt" FROM contact_attempts WHERE id = $1`,
          [attempt.id],
        );
        return r.status === 'sent' ? r : undefined;
      },
      'the SMS recorded as sent',
      40_000,
    );
    // Every request forwarded: the late one has reached Twilio. One SMS, the one recorded.
    await waitUntil(async () => proxy.inFlight === 0 || undefined, 'the late request at Twilio');
    const created = smsOf(attempt.id);
    // Before: 2 (the next try asked Twilio before the late request arrived, and sent it again).
    expect(created).toHaveLength(1);
    expect(row.providerId).toBe(created[0].ref);
    // Recorded only once Twilio had had its time to take the request.
    expect(
      new Date(row.sentAt).getTime() - new Date(row.unansweredAt).getTime(),
    ).toBeGreaterThanOrEqual(SETTLE_MS - 100);
  });
});
