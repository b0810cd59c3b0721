import { presetProfile } from '../../src/sandbox/person-profiles';
import { SendAttemptService } from '../../src/modules/dispatch/send-attempt.service';
import { SendGroupService } from '../../src/modules/dispatch/send-group.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { FlakyProxy } from '../helpers/flaky-proxy';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import { smsAcceptedFor } from '../helpers/sandbox-sms';

const APP_SECRET = 'send-runs-twice-e2e-secret'.padEnd(40, 't');
const CHIEF = PEOPLE.villageChief.mobile;

/**
 * BullMQ runs a job again when its lock runs out, which also happens while its first run is still
 * alive (an event loop held up past the lock's duration, a Redis blip while renewing it): two
 * runs of one send at once. Seen once in the kill -9 fault run (one SMS accepted twice under one
 * attempt id). The claim must be owned by one run: a second run leaves a fresh claim alone.
 */
describe('one send run twice at once', () => {
  let t: TestApp;
  let proxy: FlakyProxy;
  let robots: FlakyProxy;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      beforeApp: async (sandbox) => {
        proxy = await FlakyProxy.start(sandbox!.carrier.baseUrl, /(Messages|Calls)\.json$/, 0);
        process.env.TWILIO_API_BASE_URL = proxy.baseUrl;
        robots = await FlakyProxy.start(sandbox!.carrier.baseUrl, /\/cgi-bin\/webhook\/send/, 0);
        process.env.WECOM_API_BASE_URL = robots.baseUrl;
      },
    });
    // Nobody answers and no receipt comes within the test: the SMS stays `sent`.
    const silent = presetProfile('no-answer', { sms: { deliverAfterMs: 86_400_000 } });
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, silent);
  });
  afterAll(async () => {
    await t.close();
    await proxy.close();
    await robots.close();
  });

  /** The SMS the provider accepted for this attempt (its callback URL names it). */
  const smsOf = (attemptId: string) => smsAcceptedFor(t.sandbox!.carrier, attemptId);

  it('sends a message once when a second run starts while the first waits on the provider', async () => {
    // The provider gets each new message 3 s after it was posted: the first run waits.
    proxy.requestDelayMs = 3_000;
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '渔子溪村滑坡临灾预警（同一发送两次运行）' }));
    expect(res.status).toBe(201);
    const attempt = await waitUntil(async () => {
      const [a] = await t.db.query(
        `SELECT id, status FROM contact_attempts
          WHERE warning_id = $1 AND channel = 'sms' AND purpose = 'warning' AND address = $2`,
        [res.body.id, CHIEF],
      );
      return a?.status === 'sending' && proxy.inFlight > 0 ? a : undefined;
    }, 'the chief SMS claimed, its request on its way to the provider');

    // A second run of the same job, as BullMQ starts it when it takes the first for stalled.
    const second = await t.app.get(SendAttemptService, { strict: false }).send(attempt.id, false);
    // Before: it claimed the send again, asked the provider (nothing there yet) and sent it too.
    expect(second.kind).toBe('deferred');

    const row = await waitUntil(async () => {
      const [r] = await t.db.query(
        `SELECT status, tries, provider_id AS "providerId" FROM contact_attempts WHERE id = $1`,
        [attempt.id],
      );
      return r.status === 'sent' && proxy.inFlight === 0 ? r : undefined;
    }, 'the first run recorded the SMS');
    const created = smsOf(attempt.id);
    expect(created).toHaveLength(1);
    expect(row).toEqual({ status: 'sent', tries: 1, providerId: created[0].ref });

    // The deferred run, when it comes back, finds the send done and sends nothing.
    proxy.requestDelayMs = 0;
    const again = await t.app.get(SendAttemptService, { strict: false }).send(attempt.id, false);
    expect(again.kind).toBe('skipped');
    expect(smsOf(attempt.id)).toHaveLength(1);
  });

  it('posts a robot message once when a second run starts while the first waits on the robot', async () => {
    // The robot gets each message 3 s after it was posted.
    robots.requestDelayMs = 3_000;
    const headline = '渔子溪村滑坡临灾预警（群消息两次运行）';
    const since = t.sandbox!.carrier.events().at(-1)?.seq ?? 0;
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline }));
    expect(res.status).toBe(201);
    const send = await waitUntil(async () => {
      const [g] = await t.db.query(
        `SELECT id, status FROM group_sends WHERE warning_id = $1 AND target_code = 'ROBOT-G1'`,
        [res.body.id],
      );
      return g?.status === 'sending' && robots.inFlight > 0 ? g : undefined;
    }, 'the grid robot message claimed, its request on its way to the robot');

    const second = await t.app.get(SendGroupService, { strict: false }).send(send.id, false);
    // Before: it claimed the send again and posted the message a second time.
    expect(second.kind).toBe('deferred');

    await waitUntil(async () => {
      const [g] = await t.db.query(`SELECT status FROM group_sends WHERE id = $1`, [send.id]);
      return g.status === 'sent' && robots.inFlight === 0 ? g : undefined;
    }, 'the first run recorded the robot message');
    // The grid's WeCom robot heard this warning once: one alert (its markdown part; a text part
    // follows with the mentions), the only robot message since the warning was issued.
    const heard = t.sandbox!.carrier.events({ type: 'robot.message', channel: 'wecom', since });
    expect(heard.filter((e) => e.data.msgtype === 'markdown')).toHaveLength(1);
    expect(heard.filter((e) => e.data.msgtype === 'text')).toHaveLength(1);

    robots.requestDelayMs = 0;
    const again = await t.app.get(SendGroupService, { strict: false }).send(send.id, false);
    expect(again.kind).toBe('skipped');
  });
});
