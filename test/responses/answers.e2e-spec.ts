import { TokensService } from '../../src/modules/auth/tokens.service';
import { MessageRenderer } from '../../src/modules/dispatch/message-renderer';
import { ConfirmLinkSigner } from '../../src/common/crypto/confirm-link';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';
import {
  inboundSms as sendInboundSms,
  messageOf,
  twilioPost as postSigned,
} from '../helpers/twilio-webhooks';

const APP_SECRET = 'answers-e2e-secret'.padEnd(40, 'a');

/** Residents of grid 1 who answer by SMS in one of the accepted forms. */
const REPLIERS = [
  { ext: 'P-X1', name: '甲居民', mobile: '+8613800000101', body: '1' },
  { ext: 'P-X2', name: '乙居民', mobile: '+8613800000102', body: '１' },
  { ext: 'P-X3', name: '丙居民', mobile: '+8613800000103', body: ' 收到 ' },
  { ext: 'P-X4', name: '丁居民', mobile: '+8613800000104', body: '确认' },
  { ext: 'P-X5', name: '戊居民', mobile: '+8613800000105', body: 'ok' },
  { ext: 'P-X6', name: '己居民', mobile: '+8613800000106', body: 'ＯＫ' },
  { ext: 'P-X7', name: '庚居民', mobile: '+8613800000107', body: '2' },
] as const;

const REPLIERS_SQL = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ${REPLIERS.map((r) => `('${r.ext}', '${r.name}', 'resident', '513221001001', '513221001001001')`).join(',\n')};
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ${REPLIERS.map((r) => `('${r.ext}', '${r.mobile}')`).join(', ')}) AS c(ext, mobile) ON c.ext = people.external_id;
`;

interface Answer {
  kind: string;
  channel: string;
  attempt_id: string | null;
  raw_input: string | null;
  recorded_by: string | null;
  reason: string | null;
  dedupe_key: string;
  effective: boolean;
}

describe('叫应: answers by keypress, SMS reply, signed link and on-site record', () => {
  let t: TestApp;
  let w1: string;
  let w2: string;

  const duty = () => ({ Authorization: `Bearer ${t.tokens.duty_officer}` });
  const carrier = () => t.sandbox!.carrier;

  const delivery = async (warningId: string, ext: string) => {
    const [row] = await t.db.query(
      `SELECT d.id, d.state, d.confirmed_at, d.heard_at, d.answered_attempt_id, d.answer_channel, d.person_id,
              d.help_requested_at
         FROM deliveries d JOIN people p ON p.id = d.person_id WHERE d.warning_id = $1 AND p.external_id = $2`,
      [warningId, ext],
    );
    return row as
      | {
          id: string;
          state: string;
          confirmed_at: Date | null;
          heard_at: Date | null;
          answered_attempt_id: string | null;
          answer_channel: string | null;
          person_id: string;
          help_requested_at: Date | null;
        }
      | undefined;
  };
  const stateOf = async (warningId: string, ext: string) => (await delivery(warningId, ext))?.state;
  const answersOf = async (deliveryId: string): Promise<Answer[]> =>
    t.db.query(
      `SELECT kind, channel, attempt_id, raw_input, recorded_by, reason, dedupe_key, effective
         FROM answers WHERE delivery_id = $1 ORDER BY received_at`,
      [deliveryId],
    );
  const attemptOf = async (warningId: string, ext: string, channel: 'sms' | 'voice') => {
    const [row] = await t.db.query(
      `SELECT a.id, a.status, a.provider_id, a.digits, a.heard FROM contact_attempts a
         JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
        WHERE a.warning_id = $1 AND p.external_id = $2 AND a.channel = $3 ORDER BY a.seq LIMIT 1`,
      [warningId, ext, channel],
    );
    return row as
      | {
          id: string;
          status: string;
          provider_id: string | null;
          digits: string | null;
          heard: boolean;
        }
      | undefined;
  };

  const twilioPost = (path: string, params: Record<string, string>) => postSigned(t, path, params);
  const inboundSms = (from: string, body: string, sid?: string) =>
    sendInboundSms(t, from, body, sid);

  const issue = async (headline: string) => {
    const res = await t.http().post('/v1/warnings').set(duty()).send(imminentWarning({ headline }));
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      // Answers are under test here, not call retries (test/escalation covers those): without
      // retries, a warning's calls are over once each person's first call has ended.
      seedSql:
        villageFixtureSql(APP_SECRET) +
        REPLIERS_SQL +
        // Both residents under the slope: both are called (an early hang-up is under test).
        `INSERT INTO hazard_site_people SELECT 'HP-1', id, 'threatened' FROM people WHERE external_id = '${PEOPLE.deadMobile.ext}';` +
        `UPDATE escalation_policies SET steps = (SELECT jsonb_agg(s - 'voiceRetries') FROM jsonb_array_elements(steps) s);`,
      env: { TWILIO_CALLS_PER_SECOND: '10', TWILIO_SMS_PER_SECOND: '30' },
    });
    // Nobody answers on their own unless a test says so.
    for (const p of Object.values(PEOPLE)) carrier().setProfile(p.mobile, 'no-answer');
    carrier().setProfile(PEOPLE.deadMobile.landline, 'no-answer');
    for (const r of REPLIERS) carrier().setProfile(r.mobile, 'no-answer');
  });
  afterAll(() => t.close());

  describe('voice keypress', () => {
    beforeAll(async () => {
      // Keys only (no SMS reply racing the call); one presses while the message still plays.
      carrier().setProfile(
        PEOPLE.villageChief.mobile,
        presetProfile('confirms', { sms: { reply: null }, voice: { keyAfterMs: 1_000 } }),
      );
      carrier().setProfile(
        PEOPLE.gridLeader.mobile,
        presetProfile('needs-help', { sms: { reply: null } }),
      );
      carrier().setProfile(PEOPLE.resident.mobile, 'silent');
      carrier().setProfile(PEOPLE.deadMobile.mobile, 'hangs-up-early');
      w1 = await issue('渔子溪村滑坡临灾预警（第一次）');
    });

    it('records key 1 as a confirmation and key 2 as a help request, with the call as the attempt', async () => {
      await waitUntil(
        async () => (await stateOf(w1, PEOPLE.villageChief.ext)) === 'confirmed',
        'village chief presses 1',
      );
      await waitUntil(
        async () => (await stateOf(w1, PEOPLE.gridLeader.ext)) === 'declined',
        'grid leader presses 2',
      );
      for (const [ext, kind, digits] of [
        [PEOPLE.villageChief.ext, 'confirm', '1'],
        [PEOPLE.gridLeader.ext, 'help', '2'],
      ] as const) {
        const d = (await delivery(w1, ext))!;
        const call = (await attemptOf(w1, ext, 'voice'))!;
        expect(d).toMatchObject({ answered_attempt_id: call.id, answer_channel: 'voice' });
        expect(d.confirmed_at).toBeInstanceOf(Date);
        expect(await answersOf(d.id)).toEqual([
          {
            kind,
            channel: 'voice',
            attempt_id: call.id,
            raw_input: digits,
            recorded_by: null,
            reason: null,
            dedupe_key: `voice:${call.provider_id}`,
            effective: true,
          },
        ]);
        expect(call.digits).toBe(digits);
      }
      // The key was pressed during the prompt (barge-in), and counted.
      const gather = carrier().events(
        (e) => e.type === 'call.gather' && e.to === PEOPLE.villageChief.mobile,
      );
      expect(gather[0]?.data).toMatchObject({ digits: '1', duringPrompt: true });
    });

    it('takes the same gather posted twice as one answer', async () => {
      const d = (await delivery(w1, PEOPLE.villageChief.ext))!;
      const call = (await attemptOf(w1, PEOPLE.villageChief.ext, 'voice'))!;
      const again = await twilioPost(`/webhooks/twilio/voice/${call.id}/gather?round=1`, {
        CallSid: call.provider_id!,
        Digits: '1',
        AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
      });
      expect(again.status).toBe(201);
      expect(again.text).toContain('<Hangup/>');
      expect(await answersOf(d.id)).toHaveLength(1);
    });

    it('marks a message played to the end as heard, and a hang-up before the end as not heard', async () => {
      await waitUntil(
        async () => (await stateOf(w1, PEOPLE.resident.ext)) === 'heard',
        'resident listens to the end',
      );
      const heard = (await delivery(w1, PEOPLE.resident.ext))!;
      expect(heard.heard_at).toBeInstanceOf(Date);
      expect(heard.confirmed_at).toBeNull();
      expect(await answersOf(heard.id)).toEqual([]);

      await waitUntil(
        async () => (await attemptOf(w1, PEOPLE.deadMobile.ext, 'voice'))?.status === 'completed',
        'early hang-up call completes',
      );
      const early = (await delivery(w1, PEOPLE.deadMobile.ext))!;
      expect(early.heard_at).toBeNull();
      expect(['sent', 'delivered']).toContain(early.state);
      expect((await attemptOf(w1, PEOPLE.deadMobile.ext, 'voice'))!.heard).toBe(false);
    });
  });

  describe('SMS replies', () => {
    beforeAll(async () => {
      // W1's calls are over before the profiles change for W2.
      await waitUntil(async () => {
        const [{ n }] = await t.db.query(
          `SELECT count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 AND channel = 'voice'
              AND status IN ('queued', 'sending', 'sent')`,
          [w1],
        );
        return n === 0;
      }, 'W1 calls done');
      for (const p of Object.values(PEOPLE)) carrier().setProfile(p.mobile, 'no-answer');
      // The village chief answers the SMS through the carrier, as a person would.
      carrier().setProfile(
        PEOPLE.villageChief.mobile,
        presetProfile('no-answer', { sms: { reply: ' 收到 ' } }),
      );
      w2 = await issue('渔子溪村滑坡临灾预警（第二次）');
      const people = [PEOPLE.gridLeader.ext, PEOPLE.resident.ext, ...REPLIERS.map((r) => r.ext)];
      for (const ext of people) {
        await waitUntil(
          async () => (await attemptOf(w2, ext, 'sms'))?.provider_id,
          `SMS of W2 to ${ext} sent`,
        );
      }
    });

    it('confirms on 1, １, " 收到 ", 确认, ok, ＯＫ and asks for help on 2, answering each by SMS', async () => {
      for (const r of REPLIERS) {
        const res = await inboundSms(r.mobile, r.body);
        expect(res.status).toBe(201);
        expect(res.type).toBe('text/xml');
        const text = messageOf(res.text);
        const d = (await delivery(w2, r.ext))!;
        const sms = (await attemptOf(w2, r.ext, 'sms'))!;
        const kind = r.body === '2' ? 'help' : 'confirm';
        expect({ body: r.body, state: d.state }).toEqual({
          body: r.body,
          state: kind === 'help' ? 'declined' : 'confirmed',
        });
        expect(d).toMatchObject({ answered_attempt_id: sms.id, answer_channel: 'sms' });
        expect(await answersOf(d.id)).toEqual([
          expect.objectContaining({
            kind,
            channel: 'sms',
            attempt_id: sms.id,
            raw_input: r.body,
            effective: true,
          }),
        ]);
        if (kind === 'confirm') {
          expect(text).toMatch(/^【.+】已确认收到“渔子溪村滑坡临灾预警（第二次）”，谢谢/);
        } else {
          expect(text).toContain('已收到您的支援请求');
        }
        expect(text).not.toContain('回复');
        // The person's earlier warning is left alone: the most recent one is answered.
        expect(await stateOf(w1, r.ext)).not.toMatch(/confirmed|declined/);
      }
    });

    it('takes "2" after a confirmation by SMS as a new request for help', async () => {
      const r = REPLIERS[1]; // confirmed W2 by "１" above
      const before = (await delivery(w2, r.ext))!;
      expect(before.state).toBe('confirmed');
      const res = await inboundSms(r.mobile, '2');
      expect(messageOf(res.text)).toContain('已收到您的支援请求');
      const after = (await delivery(w2, r.ext))!;
      // The first answer stays the first answer; the request for help is a flag on top of it.
      expect(after).toMatchObject({ state: 'confirmed', answer_channel: 'sms' });
      expect(after.help_requested_at).toBeTruthy();
      expect(after.confirmed_at).toEqual(before.confirmed_at);
      expect((await answersOf(after.id)).map((a) => [a.kind, a.effective])).toEqual([
        ['confirm', true],
        ['help', true],
      ]);
    });

    it('falls back to the most recent open warning, and stops clarifying after three tries', async () => {
      // W2 is answered for this person: the reply goes to their still open W1 delivery.
      const r = REPLIERS[0];
      const texts: string[] = [];
      for (const body of ['？', '谁', '什么', '嗯']) {
        texts.push(messageOf((await inboundSms(r.mobile, body)).text));
      }
      for (const text of texts.slice(0, 3)) {
        expect(text).toContain(
          '关于“渔子溪村滑坡临灾预警（第一次）”：回复1确认收到，回复2请求支援',
        );
      }
      expect(texts[3]).toContain('已收到您的短信');
      expect(texts[3]).not.toContain('回复');
      const d1 = (await delivery(w1, r.ext))!;
      expect((await answersOf(d1.id)).map((a) => [a.kind, a.effective])).toEqual(
        Array(4).fill(['ambiguous', false]),
      );
      expect(await stateOf(w2, r.ext)).toBe('confirmed');
    });

    it('takes a reply posted by the carrier and answers it with TwiML', async () => {
      await waitUntil(
        async () => (await stateOf(w2, PEOPLE.villageChief.ext)) === 'confirmed',
        'village chief replies 收到 by SMS',
      );
      const d = (await delivery(w2, PEOPLE.villageChief.ext))!;
      const [answer] = await answersOf(d.id);
      expect(answer).toMatchObject({ kind: 'confirm', channel: 'sms', raw_input: ' 收到 ' });
      expect(answer.dedupe_key).toMatch(/^sms:SM/);
      const answered = await carrier().waitFor(
        (e) => e.type === 'sms.reply.answered' && e.to === PEOPLE.villageChief.mobile,
      );
      expect(JSON.stringify(answered.data)).toContain('已确认收到');
    });

    it('answers an ambiguous reply with the clarifying SMS and changes nothing', async () => {
      const before = (await delivery(w2, PEOPLE.resident.ext))!;
      const res = await inboundSms(PEOPLE.resident.mobile, '什么意思？');
      expect(res.status).toBe(201);
      const text = messageOf(res.text);
      expect(text).toContain('回复1确认收到，回复2请求支援');
      expect(text).toContain('渔子溪村滑坡临灾预警');
      expect(Array.from(text).length).toBeLessThanOrEqual(70);
      const after = (await delivery(w2, PEOPLE.resident.ext))!;
      expect(after.state).toBe(before.state);
      expect(after.confirmed_at).toBeNull();
      expect(await answersOf(after.id)).toEqual([
        expect.objectContaining({
          kind: 'ambiguous',
          channel: 'sms',
          raw_input: '什么意思？',
          effective: false,
        }),
      ]);
      // The clarified answer then counts.
      await inboundSms(PEOPLE.resident.mobile, '１。');
      expect(await stateOf(w2, PEOPLE.resident.ext)).toBe('confirmed');
    });

    it('takes the same webhook delivered twice as one answer, and answers both the same way', async () => {
      const sid = `SM${'d'.repeat(32)}`;
      const first = await inboundSms(PEOPLE.gridLeader.mobile, '1', sid);
      const second = await inboundSms(PEOPLE.gridLeader.mobile, '1', sid);
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(messageOf(second.text)).toBe(messageOf(first.text));
      expect(messageOf(first.text)).toContain('已确认收到');
      const d = (await delivery(w2, PEOPLE.gridLeader.ext))!;
      expect(d.state).toBe('confirmed');
      expect(await answersOf(d.id)).toHaveLength(1);
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM inbound_messages WHERE provider_id = $1`,
        [sid],
      );
      expect(n).toBe(1);
    });

    it('never moves a state back or overwrites the first answer on late or out-of-order callbacks', async () => {
      const d = (await delivery(w2, PEOPLE.gridLeader.ext))!;
      const sms = (await attemptOf(w2, PEOPLE.gridLeader.ext, 'sms'))!;
      for (const status of ['sent', 'delivered', 'sent']) {
        const res = await twilioPost('/webhooks/twilio/sms/status', {
          AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
          MessageSid: sms.provider_id!,
          SmsSid: sms.provider_id!,
          MessageStatus: status,
          SmsStatus: status,
          To: PEOPLE.gridLeader.mobile,
          From: t.sandbox!.env.TWILIO_FROM_NUMBER,
        });
        expect(res.status).toBe(204);
      }
      // A later keypress (another call) asking for help is a new emergency: flagged on top of the
      // first answer, whose time and channel the person keeps.
      const call = (await attemptOf(w2, PEOPLE.gridLeader.ext, 'voice'))!;
      const late = await twilioPost(`/webhooks/twilio/voice/${call.id}/gather`, {
        CallSid: `CA${'e'.repeat(32)}`,
        Digits: '2',
      });
      expect(late.status).toBe(201);
      // And a late SMS reply: no open delivery is left for the grid leader.
      const reply = await inboundSms(PEOPLE.gridLeader.mobile, '2');
      expect(messageOf(reply.text)).toContain('目前没有需要您确认的预警');

      const after = (await delivery(w2, PEOPLE.gridLeader.ext))!;
      expect(after).toMatchObject({
        state: 'confirmed',
        answer_channel: 'sms',
        answered_attempt_id: sms.id,
      });
      expect(after.help_requested_at).toBeTruthy();
      expect(after.confirmed_at).toEqual(d.confirmed_at);
      expect((await answersOf(d.id)).map((a) => [a.channel, a.kind, a.effective])).toEqual([
        ['sms', 'confirm', true],
        ['voice', 'help', true],
      ]);
      // A second help, or a confirm after it, changes nothing: help stands until someone sees to it.
      const again = await twilioPost(`/webhooks/twilio/voice/${call.id}/gather`, {
        CallSid: `CA${'f'.repeat(32)}`,
        Digits: '1',
      });
      expect(again.status).toBe(201);
      const unchanged = (await delivery(w2, PEOPLE.gridLeader.ext))!;
      expect(unchanged.state).toBe('confirmed');
      expect(unchanged.help_requested_at).toEqual(after.help_requested_at);
    });

    it('answers a reply from an unknown number politely, stores it and records no answer', async () => {
      const [{ n: before }] = await t.db.query(`SELECT count(*)::int AS n FROM answers`);
      const res = await inboundSms('+8613999999999', '1');
      expect(res.status).toBe(201);
      expect(messageOf(res.text)).toContain('已收到您的短信');
      expect(messageOf(res.text)).not.toContain('回复');
      const [{ n: after }] = await t.db.query(`SELECT count(*)::int AS n FROM answers`);
      expect(after).toBe(before);
      const [stored] = await t.db.query(
        `SELECT body FROM inbound_messages WHERE from_address = '+8613999999999'`,
      );
      expect(stored).toEqual({ body: '1' });
    });

    it('refuses an inbound SMS without a valid signature', async () => {
      const res = await t
        .http()
        .post('/webhooks/twilio/sms')
        .type('form')
        .set('X-Twilio-Signature', 'bm90LWEtc2lnbmF0dXJl')
        .send({ MessageSid: 'SMx', From: PEOPLE.deadMobile.mobile, To: '+15005550006', Body: '1' });
      expect(res.status).toBe(403);
      expect(await stateOf(w2, PEOPLE.deadMobile.ext)).not.toBe('confirmed');
    });
  });

  describe('signed confirmation link', () => {
    const signer = () => t.app.get(MessageRenderer).linkSigner;
    const inAnHour = () => new Date(Date.now() + 3600_000);

    it('shows the warning on GET without confirming anything', async () => {
      const d = (await delivery(w2, PEOPLE.deadMobile.ext))!;
      const token = signer().sign(d.id, inAnHour());
      const res = await t.http().get(`/c/${token}`);
      expect(res.status).toBe(200);
      expect(res.type).toBe('text/html');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toContain('渔子溪村滑坡临灾预警（第二次）');
      expect(res.text).toContain('一级（红色）');
      expect(res.text).toContain('Red (Level I)');
      expect(res.text).toContain('渔子溪滑坡隐患点');
      expect(res.text).toContain(PEOPLE.deadMobile.name);
      expect(res.text).toContain('<form method="post">');
      expect(res.text).toMatch(/name="answer" value="confirm">确认收到/);
      expect(res.text).toMatch(/name="answer" value="help">请求支援/);
      expect(res.text).not.toContain('<script');
      expect(res.text.indexOf('确认收到')).toBeLessThan(res.text.indexOf('Confirm receipt'));
      // A preview fetching it twice, and HEAD, change nothing.
      await t.http().get(`/c/${token}`);
      await t.http().head(`/c/${token}`);
      expect((await delivery(w2, PEOPLE.deadMobile.ext))!.state).toBe(d.state);
      expect(await answersOf(d.id)).toEqual([]);
    });

    it('records the answer on POST, once, and then says it was confirmed', async () => {
      const d = (await delivery(w2, PEOPLE.deadMobile.ext))!;
      const token = signer().sign(d.id, inAnHour());
      const bad = await t.http().post(`/c/${token}`).type('form').send({ answer: 'maybe' });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('<form method="post">');
      const res = await t.http().post(`/c/${token}`).type('form').send({ answer: 'confirm' });
      expect(res.status).toBe(200);
      expect(res.text).toContain('已确认收到，谢谢');
      const again = await t.http().post(`/c/${token}`).type('form').send({ answer: 'confirm' });
      expect(again.status).toBe(200);
      expect(again.text).toContain('您已于');
      const after = (await delivery(w2, PEOPLE.deadMobile.ext))!;
      expect(after).toMatchObject({
        state: 'confirmed',
        answer_channel: 'link',
        answered_attempt_id: null,
      });
      expect(await answersOf(d.id)).toEqual([
        expect.objectContaining({
          kind: 'confirm',
          channel: 'link',
          raw_input: 'confirm',
          dedupe_key: `link:${token}:confirm`,
          effective: true,
        }),
      ]);
      const page = await t.http().get(`/c/${token}`);
      expect(page.text).toContain('您已于');
      expect(page.text).not.toContain('<form');
      // Help pressed after the confirmation counts: the person needs help now.
      const help = await t.http().post(`/c/${token}`).type('form').send({ answer: 'help' });
      expect(help.status).toBe(200);
      const helped = (await delivery(w2, PEOPLE.deadMobile.ext))!;
      expect(helped).toMatchObject({ state: 'confirmed', answer_channel: 'link' });
      expect(helped.help_requested_at).toBeTruthy();
      expect(helped.confirmed_at).toEqual(after.confirmed_at);
      expect((await answersOf(d.id)).map((a) => [a.kind, a.effective])).toEqual([
        ['confirm', true],
        ['help', true],
      ]);
      // Pressed twice (a double submit), it is recorded once.
      await t.http().post(`/c/${token}`).type('form').send({ answer: 'help' });
      expect(await answersOf(d.id)).toHaveLength(2);
    });

    it('refuses expired (410), forged and malformed (404) tokens, and records nothing', async () => {
      const d = (await delivery(w1, PEOPLE.deadMobile.ext))!;
      const expired = signer().sign(d.id, new Date(Date.now() - 60_000));
      const forged = new ConfirmLinkSigner('another-secret'.padEnd(40, 'q')).sign(d.id, inAnHour());
      for (const method of ['get', 'post'] as const) {
        const e = await t.http()[method](`/c/${expired}`).type('form').send({ answer: 'confirm' });
        expect(e.status).toBe(410);
        expect(e.text).toContain('链接已过期');
        expect(e.text).toContain('expired');
        for (const bad of [forged, 'abc', 'abc.def', `${expired.split('.')[0]}.`]) {
          const f = await t.http()[method](`/c/${bad}`).type('form').send({ answer: 'confirm' });
          expect({ bad, status: f.status }).toEqual({ bad, status: 404 });
          expect(f.text).toContain('链接无效');
        }
      }
      expect(await answersOf(d.id)).toEqual([]);
      expect(await stateOf(w1, PEOPLE.deadMobile.ext)).not.toBe('confirmed');
    });
  });

  describe('on-site confirmation', () => {
    const as = (token: string) => ({ Authorization: `Bearer ${token}` });
    const personId = async (ext: string) =>
      (await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [ext]))[0].id as string;
    const tokenId = async (token: string) =>
      (await t.app.get(TokensService).authenticate(token))!.tokenId;

    it('lets a grid member confirm a person of their own grid, with the reason and who', async () => {
      const person = await personId(PEOPLE.resident.ext);
      const url = `/v1/warnings/${w1}/people/${person}/confirm`;
      const noReason = await t.http().post(url).set(as(t.tokens.grid_member)).send({});
      expect(noReason.status).toBe(400);
      expect(new Set(noReason.body.error.fields.map((f: { field: string }) => f.field))).toEqual(
        new Set(['reason']),
      );
      const tooLong = await t
        .http()
        .post(url)
        .set(as(t.tokens.grid_member))
        .send({ reason: 'x'.repeat(501) });
      expect(tooLong.status).toBe(400);

      const res = await t
        .http()
        .post(url)
        .set(as(t.tokens.grid_member))
        .send({ reason: '敲门入户，本人当面确认收到' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        kind: 'confirm',
        recorded: true,
        effective: true,
        state: 'confirmed',
      });
      const d = (await delivery(w1, PEOPLE.resident.ext))!;
      expect(d).toMatchObject({ state: 'confirmed', answer_channel: 'on_site' });
      expect(await answersOf(d.id)).toEqual([
        {
          kind: 'confirm',
          channel: 'on_site',
          attempt_id: null,
          raw_input: 'confirm',
          recorded_by: await tokenId(t.tokens.grid_member),
          reason: '敲门入户，本人当面确认收到',
          dedupe_key: expect.stringMatching(/^on_site:/),
          effective: true,
        },
      ]);
      const twice = await t
        .http()
        .post(url)
        .set(as(t.tokens.grid_member))
        .send({ reason: '敲门入户，本人当面确认收到' });
      expect(twice.status).toBe(200);
      expect(twice.body).toMatchObject({ recorded: false, effective: false, state: 'confirmed' });
      expect(await answersOf(d.id)).toHaveLength(1);
    });

    it("refuses another grid's member (403) and a person who is not a recipient (404)", async () => {
      const other = await t.app
        .get(TokensService)
        .create({ name: 'grid 2', role: 'grid_member', gridCode: '513221001001002' });
      const person = await personId(PEOPLE.deadMobile.ext);
      const refused = await t
        .http()
        .post(`/v1/warnings/${w1}/people/${person}/confirm`)
        .set(as(other.token))
        .send({ reason: '路过看到' });
      expect(refused.status).toBe(403);
      expect(await stateOf(w1, PEOPLE.deadMobile.ext)).not.toBe('confirmed');

      const township = await personId(PEOPLE.townshipChief.ext);
      const notRecipient = await t
        .http()
        .post(`/v1/warnings/${w1}/people/${township}/confirm`)
        .set(duty())
        .send({ reason: '电话确认' });
      expect(notRecipient.status).toBe(404);
      const noWarning = await t
        .http()
        .post(`/v1/warnings/00000000-0000-4000-8000-000000000000/people/${person}/confirm`)
        .set(duty())
        .send({ reason: '电话确认' });
      expect(noWarning.status).toBe(404);
    });

    it('lets a duty officer record on site within their jurisdiction, and refuses one outside it', async () => {
      const person = await personId(PEOPLE.deadMobile.ext);
      const url = `/v1/warnings/${w1}/people/${person}/confirm`;
      const outside = await t.app
        .get(TokensService)
        .create({ name: 'chengdu', role: 'duty_officer', jurisdiction: '510100' });
      const refused = await t.http().post(url).set(as(outside.token)).send({ reason: '电话确认' });
      expect(refused.status).toBe(403);

      const res = await t
        .http()
        .post(url)
        .set(duty())
        .send({ reason: '村干部现场报告：本人受伤需要转移', kind: 'help' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ kind: 'help', effective: true, state: 'declined' });
      const d = (await delivery(w1, PEOPLE.deadMobile.ext))!;
      expect(d).toMatchObject({ state: 'declined', answer_channel: 'on_site' });
      expect(await answersOf(d.id)).toEqual([
        expect.objectContaining({
          kind: 'help',
          channel: 'on_site',
          recorded_by: await tokenId(t.tokens.duty_officer),
          reason: '村干部现场报告：本人受伤需要转移',
          effective: true,
        }),
      ]);
    });

    it('takes help asked after a confirmation to the supervisor at once', async () => {
      const before = (await delivery(w1, PEOPLE.villageChief.ext))!;
      expect(before.state).toBe('confirmed');
      const chief = await personId(PEOPLE.villageChief.ext);
      const res = await t
        .http()
        .post(`/v1/warnings/${w1}/people/${chief}/confirm`)
        .set(duty())
        .send({ reason: '村主任来电：转移途中道路中断，需要支援', kind: 'help' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ kind: 'help', effective: true, state: 'confirmed' });
      const after = (await delivery(w1, PEOPLE.villageChief.ext))!;
      // The response time still runs to the keypress that confirmed; help is flagged on top.
      expect(after).toMatchObject({ state: 'confirmed', answer_channel: 'voice' });
      expect(after.help_requested_at).toBeTruthy();
      expect(after.confirmed_at).toEqual(before.confirmed_at);
      const edges = await t.db.query(
        `SELECT e.reason, p.external_id AS ext FROM escalations e
           JOIN deliveries d ON d.id = e.to_delivery_id JOIN people p ON p.id = d.person_id
          WHERE e.from_delivery_id = $1`,
        [before.id],
      );
      expect(edges).toEqual([{ reason: 'help_requested', ext: PEOPLE.townshipChief.ext }]);
    });
  });

  describe('SMS replies to a task', () => {
    let w3: string;
    const personId = async (ext: string) =>
      (await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [ext]))[0].id as string;

    /** Assigns a door-to-door task about a person; waits until its SMS went out. */
    const assign = async (ext: string) => {
      const res = await t
        .http()
        .post(`/v1/warnings/${w3}/tasks`)
        .set(duty())
        .send({
          type: 'door_to_door',
          grid: '513221001001001',
          personId: await personId(ext),
          reason: '电话未接通',
        });
      expect(res.status).toBe(201);
      const attempt = await waitUntil(async () => {
        const [a] = await t.db.query(
          `SELECT id, address, delivery_id, status FROM contact_attempts WHERE task_id = $1`,
          [res.body.id],
        );
        return a && ['sent', 'delivered'].includes(a.status) ? a : undefined;
      }, 'task SMS sent');
      return { taskId: res.body.id as string, attempt };
    };
    const task = async (id: string) =>
      (await t.db.query(`SELECT status, outcome FROM manual_tasks WHERE id = $1`, [id]))[0];

    beforeAll(async () => {
      for (const p of Object.values(PEOPLE)) carrier().setProfile(p.mobile, 'no-answer');
      for (const r of REPLIERS) carrier().setProfile(r.mobile, 'no-answer');
      w3 = await issue('渔子溪村滑坡临灾预警（入户任务）');
      await waitUntil(() => delivery(w3, PEOPLE.resident.ext), 'resident on the warning');
    });

    it('"1" to a task SMS completes the task and confirms the visited person on site', async () => {
      const { taskId, attempt } = await assign(PEOPLE.resident.ext);
      const sid = `SM${'7'.repeat(32)}`;
      const res = await inboundSms(attempt.address, '1', sid);
      expect(res.status).toBe(201);
      expect(messageOf(res.text)).toMatch(/已记录“敲门入户任务（任务号\d+）”完成/);
      expect(await task(taskId)).toEqual({ status: 'done', outcome: 'confirmed_on_site' });
      const visited = (await delivery(w3, PEOPLE.resident.ext))!;
      expect(visited).toMatchObject({ state: 'confirmed', answer_channel: 'on_site' });
      // The member's own answer, on the task's attempt.
      expect(await answersOf(attempt.delivery_id)).toEqual([
        expect.objectContaining({ kind: 'confirm', channel: 'sms', attempt_id: attempt.id }),
      ]);
      // The carrier retries the webhook: the same answer back, nothing recorded twice.
      const again = await inboundSms(attempt.address, '1', sid);
      expect(messageOf(again.text)).toBe(messageOf(res.text));
      expect(await answersOf(attempt.delivery_id)).toHaveLength(1);
      expect(await answersOf(visited.id)).toHaveLength(1);
    });

    it('"2" to a task SMS asks for support and leaves the task open', async () => {
      const { taskId, attempt } = await assign(PEOPLE.deadMobile.ext);
      const res = await inboundSms(attempt.address, '2');
      expect(messageOf(res.text)).toContain('已收到您的支援请求');
      expect(await task(taskId)).toEqual({ status: 'open', outcome: null });
      // The task says so in the list, once however many times the member asks.
      await inboundSms(attempt.address, '2');
      const listed = await t.http().get('/v1/tasks').set(duty());
      const row = listed.body.find((x: { id: string }) => x.id === taskId);
      expect(row.note).toBe('网格员请求支援（短信回复2）');
      const events = await t.db.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE action = 'task.help_requested' AND subject_id = $1`,
        [taskId],
      );
      expect(events[0].n).toBe(1);
      // Both replies kept as the member's answers on the task's attempt; the first one counted.
      const help = (await answersOf(attempt.delivery_id)).filter((a) => a.kind === 'help');
      expect(help.map((a) => [a.channel, a.attempt_id, a.effective])).toEqual([
        ['sms', attempt.id, true],
        ['sms', attempt.id, false],
      ]);
      expect(await stateOf(w3, PEOPLE.deadMobile.ext)).not.toBe('confirmed');
    });
  });

  describe('matching a reply to a warning', () => {
    it('takes a reply to a message the carrier later called undelivered: the reply shows it arrived', async () => {
      // The fault suite found it: a reply kept in the inbound spool during a database outage was
      // applied after an "undelivered" receipt had failed the SMS it answered, and was lost.
      const r = REPLIERS[4];
      // The carrier's own receipt for this number comes much later, so the "undelivered" posted
      // below is the first word on the SMS (else a quick "delivered" could beat it).
      carrier().setProfile(
        r.mobile,
        presetProfile('no-answer', { sms: { deliverAfterMs: 3_600_000 } }),
      );
      const w5 = await issue('渔子溪村滑坡临灾预警（回执晚到）');
      const sms = await waitUntil(async () => {
        const a = await attemptOf(w5, r.ext, 'sms');
        return a?.provider_id ? a : undefined;
      }, 'SMS of W5 handed to the carrier');
      const res = await twilioPost('/webhooks/twilio/sms/status', {
        AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
        MessageSid: sms.provider_id!,
        SmsSid: sms.provider_id!,
        MessageStatus: 'undelivered',
        SmsStatus: 'undelivered',
        ErrorCode: '30005',
        To: r.mobile,
        From: t.sandbox!.env.TWILIO_FROM_NUMBER,
      });
      expect(res.status).toBe(204);
      expect((await attemptOf(w5, r.ext, 'sms'))!.status).toBe('failed');
      const reply = await inboundSms(r.mobile, '1');
      expect(messageOf(reply.text)).toContain('已确认收到');
      const d5 = (await delivery(w5, r.ext))!;
      expect(d5).toMatchObject({ state: 'confirmed', answer_channel: 'sms' });
      expect((await answersOf(d5.id)).map((a) => [a.kind, a.attempt_id])).toEqual([
        ['confirm', sms.id],
      ]);
    });

    it('never takes a reply as the answer to a warning that has not reached that number yet', async () => {
      const queues = ['send-sms', 'send-sms-batch', 'send-voice', 'send-email'].map(
        (name) => t.app.get(getQueueToken(name), { strict: false }) as Queue,
      );
      // Nothing goes out: the new warning's messages stay queued.
      for (const q of queues) await q.pause();
      try {
        const w4 = await issue('渔子溪村滑坡临灾预警（尚未发出）');
        const r = REPLIERS[1];
        const d4 = await waitUntil(() => delivery(w4, r.ext), 'delivery written');
        // A late "1" meant for an earlier warning.
        await inboundSms(r.mobile, '1');
        expect((await delivery(w4, r.ext))!.state).toBe('pending');
        expect(await answersOf(d4.id)).toEqual([]);
      } finally {
        for (const q of queues) await q.resume();
      }
    });
  });
});
