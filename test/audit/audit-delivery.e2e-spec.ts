import twilio from 'twilio';
import { SendMoves } from '../../src/modules/chain/send-moves.repository';
import { LifecycleService } from '../../src/modules/dispatch/lifecycle.service';
import { EscalationService } from '../../src/modules/dispatch/escalation.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { replacePolicy, responsiblePolicy } from '../helpers/policies';
import { hoursFromNow } from '../helpers/warning-bodies';

const APP_SECRET = 'audit-delivery-e2e-secret'.padEnd(40, 'd');

/** Residents of grid 1: one whose only number is dead, one with no contact point at all. */
const DEAD_ONLY = { ext: 'P-AD1', name: '钱居民', mobile: '+8613800000201' };
const NO_CONTACT = { ext: 'P-AD2', name: '孙居民' };
const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${DEAD_ONLY.ext}', '${DEAD_ONLY.name}', 'resident', '513221001001', '513221001001001'),
    ('${NO_CONTACT.ext}', '${NO_CONTACT.name}', 'resident', '513221001001', '513221001001001');
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', '${DEAD_ONLY.mobile}', 1 FROM people WHERE external_id = '${DEAD_ONLY.ext}';`;

/**
 * Responsible persons: SMS and a call, one call retry two minutes later (so that it is still
 * queued when the test looks), then the not-woken list after 15 s; no supervisor, no task, no
 * group rule (nothing else joins the warnings).
 */
const TEST_POLICY = responsiblePolicy({
  steps: [
    { channels: ['sms', 'voice'], waitSeconds: 15, voiceRetries: { times: 1, withinSeconds: 120 } },
  ],
  onExhausted: { notWoken: true, supervisor: false, doorToDoor: false },
  groupRuleSeconds: null,
});

interface EventView {
  id: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  warningId: string | null;
  data: Record<string, unknown>;
}

interface AttemptRow {
  id: string;
  deliveryId: string;
  status: string;
  outcome: string | null;
  errorCode: string | null;
  providerId: string | null;
  heard: boolean;
  durationS: number | null;
}

describe('audit log: deliveries, calls, failures, expiry, answers and unreachable people', () => {
  let t: TestApp;
  let warningId: string;

  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const carrier = () => t.sandbox!.carrier;

  const issue = async (audience: string[], expires = hoursFromNow(12)) => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(duty())
      .send({
        kind: 'meteorological_risk',
        level: 'orange',
        hazard: 'landslide',
        headline: '映秀镇地质灾害气象风险橙色预警',
        description: '强降雨，地质灾害风险高。',
        instruction: '责任人立即上岗到位',
        areas: ['513221001001'],
        audience,
        effective: hoursFromNow(0),
        expires,
      });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  /** Every event of the log (one page is plenty for this test's warnings). */
  const allEvents = async (): Promise<EventView[]> => {
    const res = await t
      .http()
      .get('/v1/audit/events')
      .query({ limit: 1000 })
      .set({ Authorization: `Bearer ${t.tokens.auditor}` });
    expect(res.status).toBe(200);
    expect(res.body.total).toBeLessThanOrEqual(1000);
    return res.body.items;
  };
  /** The events of one action about one subject: counted per subject, so other work going on does not matter. */
  const eventsOf = async (action: string, subjectId: string): Promise<EventView[]> =>
    t.db.query(
      `SELECT id::text, actor, action, subject_type AS "subjectType", subject_id AS "subjectId",
              warning_id AS "warningId", data
         FROM audit_events WHERE action = $1 AND subject_id = $2 ORDER BY id`,
      [action, subjectId],
    );

  const deliveryOf = async (wid: string, ext: string) => {
    const [row] = await t.db.query(
      `SELECT d.id, d.state, d.not_woken_at AS "notWokenAt", d.person_id AS "personId"
         FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1 AND p.external_id = $2`,
      [wid, ext],
    );
    return row as
      { id: string; state: string; notWokenAt: Date | null; personId: string } | undefined;
  };
  const attemptsOf = async (wid: string, ext: string, channel: string): Promise<AttemptRow[]> =>
    t.db.query(
      `SELECT a.id, a.delivery_id AS "deliveryId", a.status, a.outcome, a.error_code AS "errorCode",
              a.provider_id AS "providerId", a.heard, a.duration_s AS "durationS"
         FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
        WHERE a.warning_id = $1 AND p.external_id = $2 AND a.channel = $3 ORDER BY a.seq`,
      [wid, ext, channel],
    );
  /** The first attempt of a person on a channel once it reached `status`. */
  const attemptIn = (wid: string, ext: string, channel: string, status: string) =>
    waitUntil(
      async () => (await attemptsOf(wid, ext, channel)).find((a) => a.status === status),
      `${ext} ${channel} attempt ${status}`,
    );

  /** A webhook as Twilio posts it: form-encoded, signed over the public URL and the parameters. */
  const twilioPost = async (path: string, params: Record<string, string>) => {
    const signature = twilio.getExpectedTwilioSignature(
      t.sandbox!.env.TWILIO_AUTH_TOKEN,
      `${t.baseUrl}${path}`,
      params,
    );
    const res = await t
      .http()
      .post(path)
      .type('form')
      .set('X-Twilio-Signature', signature)
      .send(params);
    expect(res.status).toBeLessThan(300);
    return res;
  };
  const smsStatus = (sid: string, status: string, errorCode?: string) =>
    twilioPost('/webhooks/twilio/sms/status', {
      AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: status,
      SmsStatus: status,
      ...(errorCode ? { ErrorCode: errorCode } : {}),
    });
  const callStatus = (attemptId: string, callSid: string, status: string, duration?: number) =>
    twilioPost(`/webhooks/twilio/voice/${attemptId}/status`, {
      AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
      CallSid: callSid,
      CallStatus: status,
      ...(duration !== undefined ? { CallDuration: String(duration) } : {}),
    });

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + extraSql,
      env: { TWILIO_CALLS_PER_SECOND: '10', TWILIO_SMS_PER_SECOND: '50' },
    });
    await replacePolicy(t, TEST_POLICY);

    const s = carrier();
    s.setProfile(PEOPLE.gridLeader.mobile, 'silent'); // listens to the whole call, presses nothing
    s.setProfile(PEOPLE.villageChief.mobile, 'no-answer');
    s.setProfile(PEOPLE.resident.mobile, 'confirms');
    s.setProfile(PEOPLE.deadMobile.mobile, 'dead');
    s.setProfile(PEOPLE.deadMobile.landline, 'confirms');
    s.setProfile(DEAD_ONLY.mobile, 'dead');
    warningId = await issue(['village_responsible', 'grid_leader', 'resident']);
  });
  afterAll(() => t.close());

  it('records a delivered SMS once, a receipt delivered twice included', async () => {
    const sms = await attemptIn(warningId, PEOPLE.gridLeader.ext, 'sms', 'delivered');
    const [event] = await eventsOf('attempt.delivered', sms.id);
    expect(event).toMatchObject({
      actor: 'provider:twilio',
      subjectType: 'attempt',
      warningId,
      data: { deliveryId: sms.deliveryId, providerId: sms.providerId },
    });
    await smsStatus(sms.providerId!, 'delivered');
    expect(await eventsOf('attempt.delivered', sms.id)).toHaveLength(1);
  });

  it('records a call heard through and completed once each, with heard, outcome and duration', async () => {
    const call = await attemptIn(warningId, PEOPLE.gridLeader.ext, 'voice', 'completed');
    expect(call).toMatchObject({ heard: true, outcome: 'completed' });
    // The message was heard in each of the call's rounds: recorded once.
    expect(
      carrier().events({ type: 'call.gather', to: PEOPLE.gridLeader.mobile }).length,
    ).toBeGreaterThanOrEqual(2);
    const heard = await eventsOf('attempt.heard', call.id);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({
      actor: 'provider:twilio',
      subjectType: 'attempt',
      warningId,
      data: { deliveryId: call.deliveryId },
    });
    const completed = await eventsOf('attempt.completed', call.id);
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      actor: 'provider:twilio',
      subjectType: 'attempt',
      warningId,
      data: {
        deliveryId: call.deliveryId,
        heard: true,
        outcome: 'completed',
        durationS: call.durationS,
      },
    });

    // The gather and the status callback posted again: nothing more.
    await twilioPost(`/webhooks/twilio/voice/${call.id}/gather?round=1`, {
      CallSid: call.providerId!,
      Digits: '',
    });
    await callStatus(call.id, call.providerId!, 'completed', 42);
    expect(await eventsOf('attempt.heard', call.id)).toHaveLength(1);
    expect(await eventsOf('attempt.completed', call.id)).toHaveLength(1);
    const [after] = (await attemptsOf(warningId, PEOPLE.gridLeader.ext, 'voice')).filter(
      (a) => a.id === call.id,
    );
    expect(after).toMatchObject({ status: 'completed', outcome: 'completed' });
  });

  it("records a dead number's undelivered SMS as failed, with the provider's code and not its message", async () => {
    const sms = await attemptIn(warningId, PEOPLE.deadMobile.ext, 'sms', 'failed');
    expect(sms).toMatchObject({ outcome: 'undelivered', errorCode: '30005' });
    const failed = await eventsOf('attempt.failed', sms.id);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      actor: 'provider:twilio',
      subjectType: 'attempt',
      warningId,
    });
    expect(failed[0].data).toEqual({
      deliveryId: sms.deliveryId,
      code: '30005',
      outcome: 'undelivered',
    });
    // The person is called on their landline instead, and confirms.
    await waitUntil(
      async () => (await deliveryOf(warningId, PEOPLE.deadMobile.ext))?.state === 'confirmed',
      'failover to the landline',
    );
    const before = (await attemptsOf(warningId, PEOPLE.deadMobile.ext, 'voice')).length;
    await smsStatus(sms.providerId!, 'undelivered', '30005');
    expect(await eventsOf('attempt.failed', sms.id)).toHaveLength(1);
    expect(await attemptsOf(warningId, PEOPLE.deadMobile.ext, 'voice')).toHaveLength(before);
  });

  it('records an unanswered call as failed (no_answer) once, and its retry is placed once', async () => {
    const call = await attemptIn(warningId, PEOPLE.villageChief.ext, 'voice', 'failed');
    expect(call.outcome).toBe('no_answer');
    const failed = await eventsOf('attempt.failed', call.id);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      actor: 'provider:twilio',
      warningId,
      data: { deliveryId: call.deliveryId, code: call.errorCode, outcome: 'no_answer' },
    });
    // The retry is queued (two minutes later).
    await waitUntil(
      async () =>
        (await attemptsOf(warningId, PEOPLE.villageChief.ext, 'voice')).some(
          (a) => a.status === 'queued',
        ),
      'call retry queued',
    );
    const before = (await attemptsOf(warningId, PEOPLE.villageChief.ext, 'voice')).length;
    await callStatus(call.id, call.providerId!, 'no-answer');
    expect(await eventsOf('attempt.failed', call.id)).toHaveLength(1);
    expect(await attemptsOf(warningId, PEOPLE.villageChief.ext, 'voice')).toHaveLength(before);
  });

  it('records an answer that stops queued sends as one attempts.cancelled event with the count', async () => {
    const chief = (await deliveryOf(warningId, PEOPLE.villageChief.ext))!;
    const sid = `SM${'a'.repeat(32)}`;
    const reply = () =>
      twilioPost('/webhooks/twilio/sms', {
        AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
        MessageSid: sid,
        SmsSid: sid,
        From: PEOPLE.villageChief.mobile,
        To: t.sandbox!.env.TWILIO_FROM_NUMBER,
        Body: '1',
        NumMedia: '0',
        NumSegments: '1',
        SmsStatus: 'received',
      });
    await reply();
    expect((await deliveryOf(warningId, PEOPLE.villageChief.ext))!.state).toBe('confirmed');
    const [{ n }] = await t.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts WHERE delivery_id = $1 AND status = 'cancelled' AND outcome = 'answered'`,
      [chief.id],
    );
    expect(n).toBeGreaterThanOrEqual(1);
    const cancelled = await eventsOf('attempts.cancelled', chief.id);
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({
      actor: 'escalation',
      subjectType: 'delivery',
      warningId,
      data: { deliveryId: chief.id, count: n, reason: 'answered' },
    });
    // The same reply again: recorded once, nothing left to cancel, no event.
    await reply();
    expect(await eventsOf('attempts.cancelled', chief.id)).toHaveLength(1);
  });

  it('records people who cannot be reached: no contact point, and every contact point failed', async () => {
    const none = await waitUntil(async () => {
      const d = await deliveryOf(warningId, NO_CONTACT.ext);
      return d?.state === 'unreachable' ? d : undefined;
    }, 'person without contact unreachable');
    const [noneEvent, ...noneMore] = await eventsOf('delivery.unreachable', none.id);
    expect(noneMore).toHaveLength(0);
    expect(noneEvent).toMatchObject({
      actor: 'system',
      subjectType: 'delivery',
      warningId,
      data: { personId: none.personId, version: 1, reason: 'no_contact_point' },
    });

    const dead = await waitUntil(async () => {
      const d = await deliveryOf(warningId, DEAD_ONLY.ext);
      return d?.state === 'unreachable' ? d : undefined;
    }, 'person with a dead number unreachable');
    expect(await eventsOf('delivery.unreachable', dead.id)).toEqual([
      expect.objectContaining({
        actor: 'system',
        data: { personId: dead.personId, version: 1, reason: 'contacts_exhausted' },
      }),
    ]);
    // The undelivered receipt again: the person is not recorded unreachable twice.
    const [sms] = await attemptsOf(warningId, DEAD_ONLY.ext, 'sms');
    await smsStatus(sms.providerId!, 'undelivered', '30005');
    expect(await eventsOf('delivery.unreachable', dead.id)).toHaveLength(1);
    expect(await eventsOf('attempt.failed', sms.id)).toHaveLength(1);
  });

  it('records the not-woken mark once', async () => {
    const gl = await waitUntil(
      async () => {
        const d = await deliveryOf(warningId, PEOPLE.gridLeader.ext);
        return d?.notWokenAt ? d : undefined;
      },
      'grid leader on the not-woken list',
      90_000,
    );
    const events = await eventsOf('delivery.not_woken', gl.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'escalation',
      subjectType: 'delivery',
      warningId,
      data: { personId: gl.personId, version: 1 },
    });
    // The follow-up carried out again (as after a fault before it was marked done): no second mark.
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT step_done FROM deliveries WHERE id = $1`, [gl.id]))[0]
          .step_done === 2,
      'follow-up marked done',
    );
    await t.db.query(`UPDATE deliveries SET step_done = 1 WHERE id = $1`, [gl.id]);
    await t.app.get(EscalationService, { strict: false }).onStepTimer(gl.id, 1, 1);
    const [{ step_done }] = await t.db.query(`SELECT step_done FROM deliveries WHERE id = $1`, [
      gl.id,
    ]);
    expect(step_done).toBe(2);
    expect(await eventsOf('delivery.not_woken', gl.id)).toHaveLength(1);
  });

  it('records a cancelled send and an expiry (once, with the counts of what it stopped)', async () => {
    const s = carrier();
    s.setProfile(PEOPLE.gridLeader.mobile, 'no-answer');
    s.setProfile(PEOPLE.villageChief.mobile, 'no-answer');
    const id = await issue(['village_responsible', 'grid_leader']);
    // Both calls go unanswered: their retries wait in the queue.
    const queued = await waitUntil(async () => {
      const rows: { id: string }[] = await t.db.query(
        `SELECT id FROM contact_attempts WHERE warning_id = $1 AND channel = 'voice' AND purpose = 'warning' AND status = 'queued' ORDER BY seq`,
        [id],
      );
      return rows.length === 2 ? rows : undefined;
    }, 'two call retries queued');

    // One is stopped by the sender (as when it finds its person answered), twice over.
    const moves = t.app.get(SendMoves, { strict: false });
    await moves.cancel(queued[0].id, 'already_answered');
    await moves.cancel(queued[0].id, 'already_answered');
    const cancelled = await eventsOf('attempt.cancelled', queued[0].id);
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({
      actor: 'system',
      subjectType: 'attempt',
      warningId: id,
      data: { outcome: 'already_answered' },
    });

    // The expiry timer fires (twice: a retried job), as it would at `expires`.
    await t.db.query(`UPDATE warnings SET expires_at = now() WHERE id = $1`, [id]);
    const lifecycle = t.app.get(LifecycleService, { strict: false });
    await lifecycle.expire(id);
    await lifecycle.expire(id);
    const [{ attempts, groups }] = await t.db.query(
      `SELECT (SELECT count(*)::int FROM contact_attempts WHERE warning_id = $1 AND outcome = 'warning_expired') AS attempts,
              (SELECT count(*)::int FROM group_sends WHERE warning_id = $1 AND status = 'cancelled') AS groups`,
      [id],
    );
    expect(attempts).toBeGreaterThanOrEqual(1);
    const expired = await eventsOf('warning.expired', id);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({
      actor: 'system',
      subjectType: 'warning',
      warningId: id,
      data: { attemptsCancelled: attempts, groupSendsCancelled: groups },
    });
  });

  it('records an expiry by its timer', async () => {
    const id = await issue(['grid_leader'], new Date(Date.now() + 4000).toISOString());
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT state FROM warnings WHERE id = $1`, [id]))[0].state === 'expired',
      'warning expired',
    );
    const expired = await eventsOf('warning.expired', id);
    expect(expired).toHaveLength(1);
    const [{ attempts, groups }] = await t.db.query(
      `SELECT (SELECT count(*)::int FROM contact_attempts WHERE warning_id = $1 AND outcome = 'warning_expired') AS attempts,
              (SELECT count(*)::int FROM group_sends WHERE warning_id = $1 AND status = 'cancelled') AS groups`,
      [id],
    );
    expect(expired[0].data).toEqual({ attemptsCancelled: attempts, groupSendsCancelled: groups });
  });

  it('keeps phone numbers and e-mail addresses out of the log, and the chain verifies', async () => {
    const list = await allEvents();
    const actions = new Set(list.map((e) => e.action));
    for (const action of [
      'attempt.delivered',
      'attempt.heard',
      'attempt.completed',
      'attempt.failed',
      'attempt.cancelled',
      'attempts.cancelled',
      'delivery.unreachable',
      'delivery.not_woken',
      'warning.expired',
    ])
      expect(actions).toContain(action);
    const text = JSON.stringify(list);
    const numbers = [
      ...Object.values(PEOPLE).flatMap((p) => [p.mobile, 'landline' in p ? p.landline : '']),
      DEAD_ONLY.mobile,
    ].filter(Boolean);
    for (const n of numbers) {
      expect(text).not.toContain(n);
      expect(text).not.toContain(n.slice(3)); // without +86
    }
    expect(text).not.toContain(PEOPLE.villageChief.email);

    // Counted first: the warnings' chains may still append while verify runs.
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM audit_events`);
    const res = await t
      .http()
      .get('/v1/audit/verify')
      .set({ Authorization: `Bearer ${t.tokens.auditor}` });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true });
    expect(res.body.checked).toBeGreaterThanOrEqual(n);
  });
});
