import type { RestException } from 'twilio';
import { presetProfile } from './person-profiles';
import type { SandboxCarrier } from './sandbox-carrier';
import {
  sandboxTwilioClient,
  startTestSandbox,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
} from './testing/fixtures';
import { WebhookReceiver } from './testing/webhook-receiver';

const FROM = '+8610690000110';
const WARNING = '【地灾预警】xx村黄色预警，请注意防范，回复1确认收到';

describe('sandbox carrier: Twilio SMS', () => {
  let gateway: WebhookReceiver;
  let carrier: SandboxCarrier;

  beforeEach(async () => {
    gateway = await WebhookReceiver.start({ twilioAuthToken: TEST_AUTH_TOKEN });
    carrier = await startTestSandbox({ smsInboundUrl: gateway.url('/twilio/sms/inbound') });
  });

  afterEach(async () => {
    await carrier.stop();
    await gateway.stop();
  });

  it('accepts a message, reports queued → sent → delivered signed, then posts the signed reply', async () => {
    const to = '+8613800000001';
    carrier.setProfile(
      to,
      presetProfile('confirms', { sms: { deliverAfterMs: 500, reply: '收到', replyAfterMs: 500 } }),
    );
    const client = sandboxTwilioClient(carrier);

    const message = await client.messages.create({
      to,
      from: FROM,
      body: WARNING,
      statusCallback: gateway.url('/twilio/sms/status?attempt=1'),
    });

    expect(message.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(message.status).toBe('queued');
    expect(message.accountSid).toBe(TEST_ACCOUNT_SID);
    expect(message.to).toBe(to);
    expect(message.from).toBe(FROM);
    expect(message.direction).toBe('outbound-api');
    expect(message.numSegments).toBe('1');
    expect(message.dateCreated).toBeInstanceOf(Date);

    const reply = await gateway.waitFor((r) => r.path === '/twilio/sms/inbound');
    expect(reply.twilioSignatureValid).toBe(true);
    expect(reply.params).toMatchObject({
      From: to,
      To: FROM,
      Body: '收到',
      AccountSid: TEST_ACCOUNT_SID,
      NumMedia: '0',
      SmsStatus: 'received',
      ApiVersion: '2010-04-01',
      FromCountry: 'CN',
    });
    expect(reply.params.MessageSid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(reply.params.MessageSid).not.toBe(message.sid);

    const callbacks = gateway.requests('/twilio/sms/status');
    expect(callbacks.map((r) => r.params.MessageStatus)).toEqual(['queued', 'sent', 'delivered']);
    for (const cb of callbacks) {
      expect(cb.twilioSignatureValid).toBe(true);
      expect(cb.url).toBe(gateway.url('/twilio/sms/status?attempt=1'));
      expect(cb.params).toMatchObject({
        MessageSid: message.sid,
        SmsSid: message.sid,
        To: to,
        From: FROM,
        AccountSid: TEST_ACCOUNT_SID,
        ApiVersion: '2010-04-01',
      });
      expect(cb.params.SmsStatus).toBe(cb.params.MessageStatus);
      expect(cb.params.ErrorCode).toBeUndefined();
    }

    const fetched = await client.messages(message.sid).fetch();
    expect(fetched.status).toBe('delivered');
    expect(fetched.dateSent).toBeInstanceOf(Date);
    const inbound = await client.messages(reply.params.MessageSid).fetch();
    expect(inbound).toMatchObject({
      direction: 'inbound',
      status: 'received',
      body: '收到',
      from: to,
      to: FROM,
    });
  });

  it('reports a dead number as undelivered with 30005 and never replies', async () => {
    const to = '+8613800000002';
    carrier.setProfile(to, presetProfile('dead', { sms: { deliverAfterMs: 300 } }));
    const client = sandboxTwilioClient(carrier);
    const message = await client.messages.create({
      to,
      from: FROM,
      body: WARNING,
      statusCallback: gateway.url('/twilio/sms/status'),
    });
    const last = await gateway.waitFor((r) => r.params.MessageStatus === 'undelivered');
    expect(last.twilioSignatureValid).toBe(true);
    expect(last.params.ErrorCode).toBe('30005');
    expect(gateway.requests('/twilio/sms/status').map((r) => r.params.MessageStatus)).toEqual([
      'queued',
      'sent',
      'undelivered',
    ]);
    const fetched = await client.messages(message.sid).fetch();
    expect(fetched.status).toBe('undelivered');
    expect(fetched.errorCode).toBe(30005);
    await new Promise((r) => setTimeout(r, 300));
    expect(gateway.requests('/twilio/sms/inbound')).toHaveLength(0);
  });

  it('reports a switched-off phone as undelivered with 30003', async () => {
    const to = '+8613800000003';
    carrier.setProfile(to, presetProfile('unreachable', { sms: { deliverAfterMs: 200 } }));
    await sandboxTwilioClient(carrier).messages.create({
      to,
      from: FROM,
      body: WARNING,
      statusCallback: gateway.url('/twilio/sms/status'),
    });
    const last = await gateway.waitFor((r) => r.params.MessageStatus === 'undelivered');
    expect(last.params.ErrorCode).toBe('30003');
  });

  it('replies only to a message that asks for a reply', async () => {
    const to = '+8613800000004';
    carrier.setProfile(
      to,
      presetProfile('confirms', { sms: { deliverAfterMs: 100, replyAfterMs: 100 } }),
    );
    const client = sandboxTwilioClient(carrier);
    const ack = await client.messages.create({
      to,
      from: FROM,
      body: '【地灾预警】已收到您的确认，谢谢。',
    });
    await carrier.waitFor({ type: 'sms.status', ref: ack.sid, channel: 'sms' });
    await carrier.waitFor((e) => e.ref === ack.sid && e.data.status === 'delivered');
    await new Promise((r) => setTimeout(r, 150));
    expect(gateway.requests('/twilio/sms/inbound')).toHaveLength(0);

    await client.messages.create({ to, from: FROM, body: WARNING });
    const reply = await gateway.waitFor((r) => r.path === '/twilio/sms/inbound');
    expect(reply.params.Body).toBe('1');
  });

  it('logs the auto-reply TwiML the gateway answers an incoming message with', async () => {
    const to = '+8613800000005';
    carrier.setProfile(
      to,
      presetProfile('needs-help', { sms: { deliverAfterMs: 100, replyAfterMs: 100 } }),
    );
    gateway.on('/twilio/sms/inbound', () => ({
      contentType: 'text/xml',
      body: '<Response><Message>已收到求助，工作人员将尽快联系您</Message></Response>',
    }));
    await sandboxTwilioClient(carrier).messages.create({ to, from: FROM, body: WARNING });
    const answered = await carrier.waitFor({ type: 'sms.reply.answered' });
    expect(answered.to).toBe(to);
    expect(answered.data.messages).toEqual(['已收到求助，工作人员将尽快联系您']);
    const reply = gateway.requests('/twilio/sms/inbound')[0];
    expect(reply.params.Body).toBe('2');
  });

  it('counts segments as carriers do: 70 UCS-2 characters in one, then 67 per segment', async () => {
    const client = sandboxTwilioClient(carrier);
    const to = '+8613800000006';
    const seventy = await client.messages.create({ to, from: FROM, body: '预'.repeat(70) });
    const seventyOne = await client.messages.create({ to, from: FROM, body: '预'.repeat(71) });
    const ascii = await client.messages.create({ to, from: FROM, body: 'a'.repeat(161) });
    expect([seventy.numSegments, seventyOne.numSegments, ascii.numSegments]).toEqual([
      '1',
      '2',
      '2',
    ]);
  });

  it('filters the fourth identical message to a number within the hour (30007)', async () => {
    const to = '+8613800000007';
    carrier.setProfile(to, presetProfile('silent', { sms: { deliverAfterMs: 100 } }));
    const client = sandboxTwilioClient(carrier);
    const sids: string[] = [];
    for (let i = 0; i < 4; i++)
      sids.push((await client.messages.create({ to, from: FROM, body: '同一条预警' })).sid);
    const filtered = await carrier.waitFor(
      (e) => e.ref === sids[3] && e.data.status === 'undelivered',
    );
    expect(filtered.data.errorCode).toBe(30007);
    const third = await carrier.waitFor(
      (e) => e.ref === sids[2] && e.type === 'sms.status' && e.data.status === 'delivered',
    );
    expect(third).toBeDefined();
  });

  it('lists messages newest first, a page at a time, filtered by the UTC date sent', async () => {
    const client = sandboxTwilioClient(carrier);
    const today = new Date();
    const sids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const to = `+86138000002${String(i).padStart(2, '0')}`;
      sids.push((await client.messages.create({ to, from: FROM, body: `第${i}条` })).sid);
    }
    let page = await client.messages.page({ dateSentAfter: today, pageSize: 2 });
    const seen: string[] = [];
    const sizes: number[] = [];
    for (;;) {
      seen.push(...page.instances.map((m) => m.sid));
      sizes.push(page.instances.length);
      const next = await page.nextPage();
      if (!next) break;
      page = next as typeof page;
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...sids].reverse());
    // Nothing was sent on or after tomorrow's midnight; everything on or before today.
    const tomorrow = new Date(today.getTime() + 86_400_000);
    expect(await client.messages.list({ dateSentAfter: tomorrow })).toEqual([]);
    expect(await client.messages.list({ dateSentBefore: today })).toHaveLength(5);
    const yesterday = new Date(today.getTime() - 86_400_000);
    expect(await client.messages.list({ dateSentBefore: yesterday })).toEqual([]);
  });

  describe('errors, as Twilio returns them', () => {
    it('rejects a To that is not E.164 with 400 / 21211', async () => {
      const err = (await sandboxTwilioClient(carrier)
        .messages.create({ to: '13800000000', from: FROM, body: 'x' })
        .catch((e: unknown) => e)) as RestException;
      expect(err.status).toBe(400);
      expect(err.code).toBe(21211);
      expect(err.moreInfo).toBe('https://www.twilio.com/docs/errors/21211');
      expect(carrier.events({ type: 'api.rejected' })[0].data).toMatchObject({ code: 21211 });
    });

    it('rejects wrong credentials with 401 / 20003', async () => {
      const err = (await sandboxTwilioClient(carrier, 'wrong-token')
        .messages.create({ to: '+8613800000008', from: FROM, body: 'x' })
        .catch((e: unknown) => e)) as RestException;
      expect(err.status).toBe(401);
      expect(err.code).toBe(20003);
      expect(carrier.events({ type: 'sms.created' })).toHaveLength(0);
    });

    it("refuses another account's resources", async () => {
      const other = `AC${'9'.repeat(32)}`;
      const res = await fetch(`${carrier.baseUrl}/2010-04-01/Accounts/${other}/Messages.json`, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ To: '+8613800000008', From: FROM, Body: 'x' }).toString(),
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 20003, status: 403 });
    });

    it('answers 404 / 20404 for an unknown message', async () => {
      const err = (await sandboxTwilioClient(carrier)
        .messages(`SM${'0'.repeat(32)}`)
        .fetch()
        .catch((e: unknown) => e)) as RestException;
      expect(err.status).toBe(404);
      expect(err.code).toBe(20404);
    });

    it('requires a body and a sender', async () => {
      const client = sandboxTwilioClient(carrier);
      const noBody = (await client.messages
        .create({ to: '+8613800000009', from: FROM } as never)
        .catch((e: unknown) => e)) as RestException;
      expect(noBody.code).toBe(21602);
      const tooLong = (await client.messages
        .create({ to: '+8613800000009', from: FROM, body: 'x'.repeat(1601) })
        .catch((e: unknown) => e)) as RestException;
      expect(tooLong.code).toBe(21617);
    });
  });
});
