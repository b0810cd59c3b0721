import { presetProfile } from '../../sandbox/person-profiles';
import type { SandboxCarrier } from '../../sandbox/sandbox-carrier';
import {
  startTestSandbox,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
} from '../../sandbox/testing/fixtures';
import { ChannelError } from '../channel.types';
import { CallbackServer } from '../testing/callback-server';
import { closedPort, StubProvider } from '../testing/stub-provider';
import { createTwilioClient } from '../twilio/twilio-client.factory';
import {
  parseInboundSmsEvent,
  parseSmsStatusEvent,
  type SmsStatusEvent,
} from '../twilio/twilio-webhook';
import { smsReplyTwiml } from './sms-twiml';
import { TwilioSmsChannel } from './sms.channel';

const FROM = '+8610690000110';
const WARNING = '【地灾预警】映秀镇渔子溪村滑坡红色临灾预警：请立即撤离至映秀镇小学。回复1确认收到';

describe('TwilioSmsChannel through the real twilio SDK against the sandbox carrier', () => {
  let gateway: CallbackServer;
  let carrier: SandboxCarrier;
  let sms: TwilioSmsChannel;

  beforeEach(async () => {
    gateway = await CallbackServer.start(TEST_AUTH_TOKEN);
    gateway.on('/webhooks/twilio/sms', () => ({ contentType: 'text/xml', body: smsReplyTwiml() }));
    carrier = await startTestSandbox({ smsInboundUrl: gateway.url('/webhooks/twilio/sms') });
    const client = createTwilioClient({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      apiBaseUrl: carrier.baseUrl,
    });
    sms = new TwilioSmsChannel(client, { fromNumber: FROM, signature: '应急预警' });
  });

  afterEach(async () => {
    await carrier.stop();
    await gateway.stop();
  });

  it('sends, gets signed status callbacks queued → sent → delivered, then the signed reply', async () => {
    const to = '+8613800000001';
    carrier.setProfile(
      to,
      presetProfile('confirms', { sms: { deliverAfterMs: 300, reply: '1', replyAfterMs: 300 } }),
    );

    const receipt = await sms.send({
      to,
      body: WARNING,
      statusCallbackUrl: gateway.url('/webhooks/twilio/sms/status?attempt=a1'),
    });

    expect(receipt.providerId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(receipt.status).toBe('queued');
    expect(receipt.segments).toBe(1);

    const reply = await gateway.waitFor((r) => r.path === '/webhooks/twilio/sms');
    expect(reply.twilioSignatureValid).toBe(true);
    const inbound = parseInboundSmsEvent(reply.params);
    expect(inbound).toMatchObject({ from: to, to: FROM, body: '1', accountSid: TEST_ACCOUNT_SID });

    const callbacks = gateway.requests('/webhooks/twilio/sms/status');
    expect(callbacks.every((c) => c.twilioSignatureValid === true)).toBe(true);
    const events: SmsStatusEvent[] = callbacks.map((c) => parseSmsStatusEvent(c.params));
    expect(events.map((e) => e.status)).toEqual(['queued', 'sent', 'delivered']);
    expect(events.map((e) => e.final)).toEqual([false, false, true]);
    expect(events.every((e) => e.messageSid === receipt.providerId && e.to === to)).toBe(true);
  });

  it('adds the 【SMS_SIGNATURE】 when the text has none and counts segments of what was sent', async () => {
    const to = '+8613800000002';
    const body = '预'.repeat(66); // 66 + 【应急预警】(6) = 72 characters: two segments
    const receipt = await sms.send({ to, body });
    const created = await carrier.waitFor({ type: 'sms.created', ref: receipt.providerId });
    expect(created.data.body).toBe(`【应急预警】${body}`);
    expect(receipt.segments).toBe(2);
    expect(sms.signedBody('【汶川县应急】已有签名')).toBe('【汶川县应急】已有签名');
  });

  it('reports a dead number as undelivered with the carrier error code', async () => {
    const to = '+8613800000003';
    carrier.setProfile(to, presetProfile('dead', { sms: { deliverAfterMs: 200 } }));
    await sms.send({
      to,
      body: WARNING,
      statusCallbackUrl: gateway.url('/webhooks/twilio/sms/status'),
    });
    const last = await gateway.waitFor((r) => r.params.MessageStatus === 'undelivered');
    expect(last.twilioSignatureValid).toBe(true);
    expect(parseSmsStatusEvent(last.params)).toMatchObject({
      status: 'undelivered',
      final: true,
      errorCode: 30005,
    });
  });

  it('sends through a Messaging Service when one is configured', async () => {
    const client = createTwilioClient({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      apiBaseUrl: carrier.baseUrl,
    });
    const viaService = new TwilioSmsChannel(client, {
      messagingServiceSid: `MG${'a'.repeat(32)}`,
      fromNumber: FROM,
      signature: '应急预警',
    });
    const receipt = await viaService.send({ to: '+8613800000004', body: WARNING });
    expect(receipt.status).toBe('accepted');
  });

  it('refuses a number that is not E.164 before calling Twilio (permanent)', async () => {
    const err = (await sms
      .send({ to: '13800000000', body: WARNING })
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe('permanent');
    expect(carrier.events({ type: 'api.rejected' })).toHaveLength(0);
    expect(carrier.events({ type: 'sms.created' })).toHaveLength(0);
  });

  it('maps wrong credentials (401 / 20003) to permanent', async () => {
    const client = createTwilioClient({
      accountSid: TEST_ACCOUNT_SID,
      authToken: 'wrong-token',
      apiBaseUrl: carrier.baseUrl,
    });
    const bad = new TwilioSmsChannel(client, { fromNumber: FROM, signature: '应急预警' });
    const err = (await bad
      .send({ to: '+8613800000005', body: WARNING })
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toMatchObject({ kind: 'permanent', code: '20003' });
  });

  it('refuses a tampered callback (the signature check of twilio-webhook.ts)', async () => {
    const res = await fetch(gateway.url('/webhooks/twilio/sms/status'), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': 'bm90IGEgc2lnbmF0dXJl',
      },
      body: 'MessageSid=SM00000000000000000000000000000000&MessageStatus=delivered',
    });
    expect(res.status).toBe(403);
    expect(gateway.requests('/webhooks/twilio/sms/status')[0].twilioSignatureValid).toBe(false);
  });
});

describe('TwilioSmsChannel: Twilio error answers', () => {
  let stub: StubProvider;
  let sms: TwilioSmsChannel;

  beforeAll(async () => {
    stub = await StubProvider.start({ status: 500 });
    const client = createTwilioClient({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      apiBaseUrl: stub.baseUrl,
    });
    sms = new TwilioSmsChannel(client, { fromNumber: FROM, signature: '应急预警' });
  });

  afterAll(() => stub.stop());

  const twilioError = (status: number, code: number) => ({
    status,
    body: {
      code,
      message: `error ${code}`,
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status,
    },
  });

  it.each([
    ['an unreachable number (400 / 21614)', twilioError(400, 21614), 'permanent', '21614'],
    ['an invalid number (400 / 21211)', twilioError(400, 21211), 'permanent', '21211'],
    ['a bad request (400 / 21602)', twilioError(400, 21602), 'permanent', '21602'],
    ['too many requests (429 / 20429)', twilioError(429, 20429), 'rate_limited', '20429'],
    ['a server error (500)', twilioError(500, 20500), 'transient', '20500'],
    ['a bare 503 without a body', { status: 503 }, 'transient', 'HTTP_503'],
  ])('maps %s', async (_what, answer, kind, code) => {
    stub.answer = answer;
    const err = (await sms
      .send({ to: '+8613800000009', body: WARNING })
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe(kind);
    expect(err.code).toBe(code);
    if (kind === 'rate_limited') expect(err.retryAfterMs).toBeGreaterThan(0);
  });

  it('maps no answer at all (connection refused) to transient', async () => {
    const port = await closedPort();
    const client = createTwilioClient({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      apiBaseUrl: `http://127.0.0.1:${port}`,
    });
    const unreachable = new TwilioSmsChannel(client, { fromNumber: FROM, signature: '应急预警' });
    const err = (await unreachable
      .send({ to: '+8613800000009', body: WARNING })
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).toMatchObject({ kind: 'transient', code: 'ECONNREFUSED' });
  });
});
