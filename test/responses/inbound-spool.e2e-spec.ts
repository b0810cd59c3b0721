import { Client } from 'pg';
import { MessageRenderer } from '../../src/modules/dispatch/message-renderer';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { inboundSms, messageOf, twilioPost } from '../helpers/twilio-webhooks';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'inbound-spool-e2e-secret'.padEnd(40, 's');

/**
 * Issue 11 item 5: what a person told us while Postgres was down is not lost. A keypress, an SMS
 * reply and a confirmation-link answer posted while the database refuses connections are answered
 * "received" (200 with the right TwiML / page), kept in the inbound spool (Redis), and recorded
 * once the database is back: with the time they were received, their queued sends stopped, one
 * answer each even when posted twice, an audit trail that says they were late.
 */
describe('answers received while Postgres is unreachable are kept and recorded once it is back', () => {
  let t: TestApp;
  let admin: Client;
  let database: string;
  let warningId: string;

  const carrier = () => t.sandbox!.carrier;
  const delivery = async (ext: string) => {
    const [row] = await t.db.query(
      `SELECT d.id, d.state, d.confirmed_at, d.answer_channel, d.answered_attempt_id
         FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1 AND p.external_id = $2`,
      [warningId, ext],
    );
    return row as {
      id: string;
      state: string;
      confirmed_at: Date | null;
      answer_channel: string | null;
      answered_attempt_id: string | null;
    };
  };
  const attempts = async (ext: string) =>
    (await t.db.query(
      `SELECT a.id, a.channel, a.status, a.outcome, a.provider_id, a.digits, a.answered_at
         FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
        WHERE a.warning_id = $1 AND p.external_id = $2 ORDER BY a.seq`,
      [warningId, ext],
    )) as {
      id: string;
      channel: string;
      status: string;
      outcome: string | null;
      provider_id: string | null;
      digits: string | null;
      answered_at: Date | null;
    }[];
  const answers = async (deliveryId: string) =>
    (await t.db.query(
      `SELECT kind, channel, dedupe_key, received_at, effective FROM answers WHERE delivery_id = $1`,
      [deliveryId],
    )) as {
      kind: string;
      channel: string;
      dedupe_key: string;
      received_at: Date;
      effective: boolean;
    }[];

  const databaseDown = async () => {
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );
  };
  const databaseUp = () => admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: {
        TWILIO_CALLS_PER_SECOND: '10',
        TWILIO_SMS_PER_SECOND: '30',
        INBOUND_SPOOL_RETRY_MS: '200',
        INBOUND_SPOOL_RETRY_MAX_MS: '1000',
      },
    });
    [{ database }] = await t.db.query(`SELECT current_database() AS database`);
    admin = new Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
    await admin.connect();
    // Nobody answers on their own: every answer here is one the test posts.
    for (const p of Object.values(PEOPLE)) carrier().setProfile(p.mobile, 'no-answer');
    carrier().setProfile(PEOPLE.deadMobile.landline, 'no-answer');
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '渔子溪村滑坡临灾预警（数据库中断）' }));
    expect(res.status).toBe(201);
    warningId = res.body.id;
  });
  afterAll(async () => {
    await databaseUp();
    await admin.end();
    await t.close();
  });

  it('answers 200 "received" during the outage, then records each answer once, at the time it was received', async () => {
    const chief = PEOPLE.villageChief;
    const leader = PEOPLE.gridLeader;
    // Both were sent their SMS, their first call went unanswered and its retry is queued.
    for (const p of [chief, leader]) {
      await waitUntil(async () => {
        const a = await attempts(p.ext);
        return (
          a.some((x) => x.channel === 'sms' && x.provider_id) &&
          a.some((x) => x.channel === 'voice' && x.status === 'queued') &&
          a.some((x) => x.channel === 'voice' && x.provider_id && x.status !== 'queued')
        );
      }, `${p.ext}: SMS sent, first call unanswered, retry queued`);
    }
    const call = (await attempts(leader.ext)).find((x) => x.channel === 'voice' && x.provider_id)!;
    const resident = await delivery(PEOPLE.resident.ext);
    const token = t.app
      .get(MessageRenderer)
      .linkSigner.sign(resident.id, new Date(Date.now() + 3600_000));
    const sid = `SM${'5'.repeat(32)}`;

    await databaseDown();
    const t0 = new Date();
    const keypress = () =>
      twilioPost(t, `/webhooks/twilio/voice/${call.id}/gather?round=1`, {
        AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
        CallSid: call.provider_id!,
        Digits: '1',
      });
    const reply = () => inboundSms(t, chief.mobile, '1', sid);
    const link = () => t.http().post(`/c/${token}`).type('form').send({ answer: 'confirm' });
    for (let i = 0; i < 2; i++) {
      // Each posted twice (a provider or a browser retrying): one answer each in the end.
      const k = await keypress();
      expect(k.status).toBe(201);
      expect(k.type).toBe('text/xml');
      expect(k.text).toContain('已收到您的确认，谢谢。');
      expect(k.text).toContain('<Hangup/>');
      const r = await reply();
      expect(r.status).toBe(201);
      expect(messageOf(r.text)).toContain('已收到您的确认回复，谢谢！');
      const l = await link();
      expect(l.status).toBe(200);
      expect(l.text).toContain('已收到您的确认，谢谢！');
    }
    const t1 = new Date();
    // Visible while unapplied: three events (not six), received since t0.
    const health = await t.http().get('/health');
    expect(health.status).toBe(503);
    expect(health.body.details.database).toMatchObject({ status: 'down' });
    expect(health.body.details.inbound).toMatchObject({ status: 'up', pending: 3, failed: 0 });
    expect(Date.parse(health.body.details.inbound.oldestReceivedAt)).toBeGreaterThanOrEqual(
      t0.getTime(),
    );

    await databaseUp();
    const restored = new Date();
    for (const ext of [chief.ext, leader.ext, PEOPLE.resident.ext]) {
      await waitUntil(async () => (await delivery(ext))?.state === 'confirmed', `${ext} confirmed`);
    }

    const expected = [
      [leader.ext, 'voice', `voice:${call.provider_id}`],
      [chief.ext, 'sms', `sms:${sid}`],
      [PEOPLE.resident.ext, 'link', expect.stringMatching(/^link:.*:confirm$/)],
    ] as const;
    for (const [ext, channel, key] of expected) {
      const d = await delivery(ext);
      const rows = await answers(d.id);
      expect(rows).toEqual([
        { kind: 'confirm', channel, dedupe_key: key, received_at: d.confirmed_at, effective: true },
      ]);
      expect(d.answer_channel).toBe(channel);
      // The answer's time is when it was received, not when it was recorded.
      expect(d.confirmed_at!.getTime()).toBeGreaterThanOrEqual(t0.getTime());
      expect(d.confirmed_at!.getTime()).toBeLessThanOrEqual(t1.getTime());
      expect(d.confirmed_at!.getTime()).toBeLessThan(restored.getTime());
    }
    // The keypress is on its call, with its time; the queued call retries were stopped.
    const leaderCall = (await attempts(leader.ext)).find((x) => x.id === call.id)!;
    expect(leaderCall.digits).toBe('1');
    expect(leaderCall.answered_at).toEqual((await delivery(leader.ext)).confirmed_at);
    for (const ext of [chief.ext, leader.ext]) {
      const a = await attempts(ext);
      expect(a.filter((x) => x.status === 'queued')).toEqual([]);
      expect(a.some((x) => x.status === 'cancelled' && x.outcome === 'answered')).toBe(true);
    }

    // The usual audit trail, noting the delay; one late-applied event per event, not per post.
    const recorded = (await t.db.query(
      `SELECT data FROM audit_events WHERE action = 'answer.recorded' AND warning_id = $1`,
      [warningId],
    )) as { data: { deliveryId: string; delayed?: { receivedAt: string; reason: string } } }[];
    expect(recorded).toHaveLength(3);
    for (const r of recorded) {
      const d = await t.db.query(`SELECT confirmed_at FROM deliveries WHERE id = $1`, [
        r.data.deliveryId,
      ]);
      expect(r.data.delayed).toEqual({
        receivedAt: (d[0].confirmed_at as Date).toISOString(),
        reason: 'database_unavailable',
      });
    }
    // Written by the spool's worker just after the answer's own transaction: waited for.
    const late = await waitUntil(async () => {
      const rows = (await t.db.query(
        `SELECT data FROM audit_events WHERE action = 'inbound.applied_late' ORDER BY data->>'type'`,
      )) as { data: { type: string; reason: string; receivedAt: string } }[];
      return rows.length >= 3 ? rows : undefined;
    }, 'three inbound.applied_late events');
    expect(late.map((e) => [e.data.type, e.data.reason])).toEqual([
      ['gather', 'database_unavailable'],
      ['link', 'database_unavailable'],
      ['sms', 'database_unavailable'],
    ]);

    // Nothing left in the spool.
    const after = await waitUntil(async () => {
      const h = await t.http().get('/health');
      return h.body.details?.inbound?.pending === 0 ? h.body.details.inbound : undefined;
    }, 'the spool empty in /health');
    expect(after).toMatchObject({ state: 'ok', pending: 0, failed: 0, oldestSeconds: null });
  });

  it('answers a webhook as before once the database is back (recorded at once, not spooled)', async () => {
    const res = await inboundSms(t, PEOPLE.gridLeader.mobile, '1');
    expect(res.status).toBe(201);
    // The grid leader is confirmed already: the regular reply, from the database.
    expect(messageOf(res.text)).not.toContain('已收到您的确认回复');
    const h = await t.http().get('/health');
    expect(h.body.details.inbound).toMatchObject({ pending: 0 });
  });
});
