import twilio, { type RestException } from 'twilio';
import { presetProfile } from './person-profiles';
import type { SandboxCarrier } from './sandbox-carrier';
import {
  sandboxTwilioClient,
  startTestSandbox,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
} from './testing/fixtures';
import { twiml, WebhookReceiver, type ReceivedRequest } from './testing/webhook-receiver';
import { speechMs } from './twiml';

const FROM = '+8628800000000';
const MESSAGE =
  '这里是县应急管理局，地质灾害气象风险橙色预警：今晚二十点至明晚二十点，您所在的村滑坡风险高，请立即组织受威胁群众转移到村小学安置点。';
const PROMPT = '确认收到请按1，需要支援请按2。';
const EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

/** The gateway's voice script: the warning and the prompt in a Gather, then a "heard" redirect. */
function warningTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  const gather = response.gather({
    numDigits: 1,
    action: '/twilio/voice/gather?attempt=1',
    method: 'POST',
    timeout: 5,
  });
  gather.say({ language: 'zh-CN' }, MESSAGE);
  gather.say({ language: 'zh-CN' }, PROMPT);
  response.redirect({ method: 'POST' }, '/twilio/voice/heard');
  return response.toString();
}

function thanksTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say({ language: 'zh-CN' }, '感谢您的确认，再见。');
  response.hangup();
  return response.toString();
}

describe('sandbox carrier: Twilio voice calls', () => {
  let gateway: WebhookReceiver;
  let carrier: SandboxCarrier;

  beforeEach(async () => {
    gateway = await WebhookReceiver.start({ twilioAuthToken: TEST_AUTH_TOKEN });
    gateway.on('/twilio/voice/answer', () => twiml(warningTwiml()));
    gateway.on('/twilio/voice/gather', () => twiml(thanksTwiml()));
    gateway.on('/twilio/voice/heard', () => twiml('<Response><Hangup/></Response>'));
    gateway.on('/twilio/voice/status', () => ({ status: 204 }));
    carrier = await startTestSandbox();
  });

  afterEach(async () => {
    await carrier.stop();
    await gateway.stop();
  });

  const placeCall = (to: string, extra: Record<string, unknown> = {}) =>
    sandboxTwilioClient(carrier).calls.create({
      to,
      from: FROM,
      url: gateway.url('/twilio/voice/answer'),
      statusCallback: gateway.url('/twilio/voice/status'),
      statusCallbackEvent: EVENTS,
      statusCallbackMethod: 'POST',
      ...extra,
    });

  const finalCallback = (sid: string) =>
    gateway.waitFor(
      (r) =>
        r.path === '/twilio/voice/status' &&
        r.params.CallSid === sid &&
        r.params.SequenceNumber !== undefined &&
        ['completed', 'busy', 'no-answer', 'failed', 'canceled'].includes(r.params.CallStatus),
      5_000,
    );

  it('rings, answers, plays the TwiML and posts the key pressed during the message, all signed', async () => {
    const to = '+8613900000001';
    carrier.setProfile(
      to,
      presetProfile('confirms', { voice: { ringMs: 2_000, keyAfterMs: 5_000 } }),
    );

    const call = await placeCall(to);
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(call.direction).toBe('outbound-api');
    expect(call.accountSid).toBe(TEST_ACCOUNT_SID);

    const done = await finalCallback(call.sid);
    expect(done.params.CallStatus).toBe('completed');

    const statuses = gateway.requests('/twilio/voice/status');
    expect(statuses.map((r) => r.params.CallStatus)).toEqual([
      'initiated',
      'ringing',
      'in-progress',
      'completed',
    ]);
    expect(statuses.map((r) => r.params.SequenceNumber)).toEqual(['0', '1', '2', '3']);
    for (const cb of statuses) {
      expect(cb.twilioSignatureValid).toBe(true);
      expect(cb.params).toMatchObject({
        CallSid: call.sid,
        AccountSid: TEST_ACCOUNT_SID,
        To: to,
        From: FROM,
        Direction: 'outbound-api',
        ApiVersion: '2010-04-01',
        CallbackSource: 'call-progress-events',
        ToCountry: 'CN',
      });
      expect(cb.params.Timestamp).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    }
    expect(Number(done.params.CallDuration)).toBeGreaterThan(0);
    expect(done.params.SipResponseCode).toBe('200');

    const [answer] = gateway.requests('/twilio/voice/answer');
    expect(answer.method).toBe('POST');
    expect(answer.twilioSignatureValid).toBe(true);
    expect(answer.params).toMatchObject({
      CallSid: call.sid,
      CallStatus: 'in-progress',
      To: to,
      From: FROM,
    });

    const [action] = gateway.requests('/twilio/voice/gather');
    expect(action.twilioSignatureValid).toBe(true);
    expect(action.url).toBe(gateway.url('/twilio/voice/gather?attempt=1')); // relative action resolved
    expect(action.params).toMatchObject({
      CallSid: call.sid,
      Digits: '1',
      CallStatus: 'in-progress',
      msg: 'Gather End',
    });
    expect(gateway.requests('/twilio/voice/heard')).toHaveLength(0);

    const gather = carrier.events({ type: 'call.gather', ref: call.sid });
    expect(gather).toHaveLength(1);
    expect(gather[0].data).toMatchObject({ digits: '1', duringPrompt: true });
    const said = carrier.events({ type: 'call.say', ref: call.sid });
    expect(said[0].data).toMatchObject({
      text: MESSAGE,
      completed: false,
      language: 'zh-CN',
      inGather: true,
    });
    expect(said.at(-1)?.data).toMatchObject({ text: '感谢您的确认，再见。', completed: true });

    const fetched = await sandboxTwilioClient(carrier).calls(call.sid).fetch();
    expect(fetched.status).toBe('completed');
    expect(fetched.duration).toBe(done.params.CallDuration);
    expect(fetched.startTime).toBeInstanceOf(Date);
    expect(fetched.endTime).toBeInstanceOf(Date);
  });

  it('posts a key pressed after the message ended, within the gather timeout', async () => {
    const to = '+8613900000002';
    const promptMs = speechMs(MESSAGE) + speechMs(PROMPT);
    carrier.setProfile(
      to,
      presetProfile('needs-help', { voice: { ringMs: 1_000, keyAfterMs: promptMs + 2_000 } }),
    );
    const call = await placeCall(to);
    const action = await gateway.waitFor((r) => r.path === '/twilio/voice/gather');
    expect(action.params.Digits).toBe('2');
    const gather = await carrier.waitFor({ type: 'call.gather', ref: call.sid });
    expect(gather.data).toMatchObject({ digits: '2', duringPrompt: false });
    const said = carrier.events({ type: 'call.say', ref: call.sid });
    expect(said.slice(0, 2).map((e) => e.data.completed)).toEqual([true, true]);
    expect((await finalCallback(call.sid)).params.CallStatus).toBe('completed');
  });

  it('goes on after a silent gather: the redirect tells the gateway the whole message was heard', async () => {
    const to = '+8613900000003';
    carrier.setProfile(to, presetProfile('silent', { voice: { ringMs: 1_000 } }));
    const call = await placeCall(to);
    const heard = await gateway.waitFor((r) => r.path === '/twilio/voice/heard');
    expect(heard.twilioSignatureValid).toBe(true);
    expect(heard.params.CallSid).toBe(call.sid);
    expect(gateway.requests('/twilio/voice/gather')).toHaveLength(0);
    expect((await finalCallback(call.sid)).params.CallStatus).toBe('completed');
    const gather = carrier.events({ type: 'call.gather', ref: call.sid })[0];
    expect(gather.data).toMatchObject({ digits: '', timedOut: true });
  });

  it('reports busy, with only the final callback when no events were asked for', async () => {
    const to = '+8613900000004';
    carrier.setProfile(to, 'busy');
    const call = await sandboxTwilioClient(carrier).calls.create({
      to,
      from: FROM,
      url: gateway.url('/twilio/voice/answer'),
      statusCallback: gateway.url('/twilio/voice/status'),
    });
    const done = await finalCallback(call.sid);
    expect(done.params).toMatchObject({
      CallStatus: 'busy',
      CallDuration: '0',
      SipResponseCode: '486',
    });
    expect(done.twilioSignatureValid).toBe(true);
    expect(gateway.requests('/twilio/voice/status')).toHaveLength(1);
    expect(gateway.requests('/twilio/voice/answer')).toHaveLength(0);
    expect((await sandboxTwilioClient(carrier).calls(call.sid).fetch()).status).toBe('busy');
  });

  it('reports no-answer after the Timeout the call was placed with', async () => {
    const shortTo = '+8613900000005';
    const longTo = '+8613900000015';
    carrier.setProfile(shortTo, 'no-answer');
    carrier.setProfile(longTo, 'no-answer');
    const [short, long] = await Promise.all([
      placeCall(shortTo, { timeout: 10 }),
      placeCall(longTo),
    ]);
    const done = await finalCallback(short.sid);
    expect(done.params.CallStatus).toBe('no-answer');
    expect(done.params.CallDuration).toBe('0');
    expect(
      gateway
        .requests('/twilio/voice/status')
        .filter((r) => r.params.CallSid === short.sid)
        .map((r) => r.params.CallStatus),
    ).toEqual(['initiated', 'ringing', 'no-answer']);
    // 10 s of ringing ends well before the default 60 s.
    expect(
      carrier.events({ ref: long.sid, type: 'call.status' }).map((e) => e.data.status),
    ).not.toContain('no-answer');
    expect((await finalCallback(long.sid)).params.CallStatus).toBe('no-answer');
    const ringing = (sid: string) =>
      carrier.events((e) => e.ref === sid && e.data.status === 'ringing')[0].seq;
    const ended = (sid: string) =>
      carrier.events((e) => e.ref === sid && e.data.status === 'no-answer')[0].seq;
    expect(ended(short.sid)).toBeLessThan(ended(long.sid));
    expect(ringing(long.sid)).toBeLessThan(ended(short.sid));
    expect(gateway.requests('/twilio/voice/answer')).toHaveLength(0);
  });

  it('accepts a call to a dead number (201) and then fails it', async () => {
    const to = '+8613900000006';
    carrier.setProfile(to, 'dead');
    const call = await placeCall(to);
    expect(call.status).toBe('queued');
    const done = await finalCallback(call.sid);
    expect(done.params.CallStatus).toBe('failed');
    expect(gateway.requests('/twilio/voice/status').map((r) => r.params.CallStatus)).toEqual([
      'initiated',
      'failed',
    ]);
  });

  it('lets the person hang up before the message ends: no digits, call completed', async () => {
    const to = '+8613900000007';
    carrier.setProfile(
      to,
      presetProfile('hangs-up-early', { voice: { ringMs: 1_000, hangUpAfterMs: 3_000 } }),
    );
    const call = await placeCall(to);
    const done = await finalCallback(call.sid);
    expect(done.params.CallStatus).toBe('completed');
    expect(Number(done.params.CallDuration)).toBeLessThan(speechMs(MESSAGE) / 1000);
    expect(gateway.requests('/twilio/voice/gather')).toHaveLength(0);
    expect(gateway.requests('/twilio/voice/heard')).toHaveLength(0);
    const hangup = carrier.events({ type: 'call.hangup', ref: call.sid });
    expect(hangup).toHaveLength(1);
    expect(hangup[0].data).toMatchObject({ by: 'callee', during: 'Say' });
    const said = carrier.events({ type: 'call.say', ref: call.sid });
    expect(said).toHaveLength(1);
    expect(said[0].data.completed).toBe(false);
    expect(said[0].data.playedMs as number).toBeLessThan(speechMs(MESSAGE));
  });

  it('hangs up a call in progress on POST Calls/{Sid} Status=completed', async () => {
    const to = '+8613900000008';
    carrier.setProfile(to, presetProfile('silent', { voice: { ringMs: 500 } }));
    gateway.on('/twilio/voice/answer', () =>
      twiml(
        `<Response><Say language="zh-CN" loop="20">${MESSAGE}</Say><Redirect>/twilio/voice/heard</Redirect></Response>`,
      ),
    );
    const client = sandboxTwilioClient(carrier);
    const call = await placeCall(to);
    await gateway.waitFor((r) => r.path === '/twilio/voice/answer');
    const updated = await client.calls(call.sid).update({ status: 'completed' });
    expect(updated.status).toBe('completed');
    const done = await finalCallback(call.sid);
    expect(done.params.CallStatus).toBe('completed');
    expect(carrier.events({ type: 'call.hangup', ref: call.sid })[0].data).toMatchObject({
      by: 'api',
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(gateway.requests('/twilio/voice/heard')).toHaveLength(0);
  });

  it('redirects a call in progress to new TwiML on POST Calls/{Sid} Url=…', async () => {
    const to = '+8613900000013';
    carrier.setProfile(to, presetProfile('silent', { voice: { ringMs: 500 } }));
    gateway.on('/twilio/voice/answer', () =>
      twiml(`<Response><Say language="zh-CN" loop="20">${MESSAGE}</Say></Response>`),
    );
    gateway.on('/twilio/voice/update', () =>
      twiml('<Response><Say language="zh-CN">预警已解除</Say><Hangup/></Response>'),
    );
    const client = sandboxTwilioClient(carrier);
    const call = await placeCall(to);
    await gateway.waitFor((r) => r.path === '/twilio/voice/answer');
    await client
      .calls(call.sid)
      .update({ url: gateway.url('/twilio/voice/update'), method: 'POST' });
    const update = await gateway.waitFor((r) => r.path === '/twilio/voice/update');
    expect(update.twilioSignatureValid).toBe(true);
    expect(update.params).toMatchObject({ CallSid: call.sid, CallStatus: 'in-progress' });
    expect((await finalCallback(call.sid)).params.CallStatus).toBe('completed');
    const said = carrier.events({ type: 'call.say', ref: call.sid });
    expect(said.map((e) => [e.data.text, e.data.completed])).toEqual([
      [MESSAGE, false],
      ['预警已解除', true],
    ]);
    const late = (await client
      .calls(call.sid)
      .update({ url: gateway.url('/twilio/voice/update') })
      .catch((e: unknown) => e)) as RestException;
    expect(late.code).toBe(21220);
  });

  it('cancels a call that is still ringing', async () => {
    const to = '+8613900000009';
    carrier.setProfile(to, 'no-answer');
    const client = sandboxTwilioClient(carrier);
    const call = await placeCall(to, { timeout: 600 });
    await gateway.waitFor(
      (r) => r.params.CallSid === call.sid && r.params.CallStatus === 'ringing',
    );
    const updated = await client.calls(call.sid).update({ status: 'canceled' });
    expect(updated.status).toBe('canceled');
    expect((await finalCallback(call.sid)).params.CallStatus).toBe('canceled');
  });

  it('fetches TwiML with GET when Method=GET, parameters in the query, signed over the full URL', async () => {
    const to = '+8613900000010';
    carrier.setProfile(
      to,
      presetProfile('confirms', { voice: { ringMs: 500, keyAfterMs: 1_000 } }),
    );
    const call = await placeCall(to, {
      method: 'GET',
      url: gateway.url('/twilio/voice/answer?lang=zh'),
    });
    const answer = await gateway.waitFor((r) => r.path === '/twilio/voice/answer');
    expect(answer.method).toBe('GET');
    expect(answer.twilioSignatureValid).toBe(true);
    expect(answer.params).toMatchObject({
      lang: 'zh',
      CallSid: call.sid,
      CallStatus: 'in-progress',
    });
    await gateway.waitFor((r) => r.path === '/twilio/voice/gather');
  });

  it('ends the call with an application error when the TwiML cannot be fetched, and uses FallbackUrl', async () => {
    gateway.on('/twilio/voice/broken', () => ({ status: 500, body: 'boom' }));
    gateway.on('/twilio/voice/fallback', () =>
      twiml('<Response><Say language="zh-CN">系统繁忙</Say></Response>'),
    );
    const to = '+8613900000011';
    carrier.setProfile(to, presetProfile('silent', { voice: { ringMs: 500 } }));

    const broken = await placeCall(to, { url: gateway.url('/twilio/voice/broken') });
    expect((await finalCallback(broken.sid)).params.CallStatus).toBe('completed');
    const error = carrier.events({ type: 'call.error', ref: broken.sid })[0];
    expect(error.data).toMatchObject({ code: 11200 });

    const withFallback = await placeCall(to, {
      url: gateway.url('/twilio/voice/broken'),
      fallbackUrl: gateway.url('/twilio/voice/fallback'),
    });
    const fallback = await gateway.waitFor((r) => r.path === '/twilio/voice/fallback');
    expect(fallback.params).toMatchObject({ CallSid: withFallback.sid, ErrorCode: '11200' });
    expect(fallback.twilioSignatureValid).toBe(true);
    await finalCallback(withFallback.sid);
    expect(carrier.events({ type: 'call.say', ref: withFallback.sid })[0].data.text).toBe(
      '系统繁忙',
    );
  });

  it('rejects invalid calls as Twilio does', async () => {
    const client = sandboxTwilioClient(carrier);
    const badTo = (await client.calls
      .create({ to: '139 0000 0000', from: FROM, url: gateway.url('/twilio/voice/answer') })
      .catch((e: unknown) => e)) as RestException;
    expect(badTo.status).toBe(400);
    expect(badTo.code).toBe(21211);
    const noUrl = (await client.calls
      .create({ to: '+8613900000012', from: FROM } as never)
      .catch((e: unknown) => e)) as RestException;
    expect(noUrl.code).toBe(21205);
    const unknown = (await client
      .calls(`CA${'f'.repeat(32)}`)
      .fetch()
      .catch((e: unknown) => e)) as RestException;
    expect(unknown.status).toBe(404);
  });

  it('gives every number a deterministic person when no profile is set', async () => {
    const client = sandboxTwilioClient(carrier);
    const numbers = Array.from(
      { length: 12 },
      (_, i) => `+86137000000${String(i).padStart(2, '0')}`,
    );
    const calls = await Promise.all(
      numbers.map((to) =>
        client.calls.create({
          to,
          from: FROM,
          url: gateway.url('/twilio/voice/answer'),
          statusCallback: gateway.url('/twilio/voice/status'),
          timeout: 30,
        }),
      ),
    );
    const outcomes = await Promise.all(calls.map((c) => finalCallback(c.sid)));
    for (const [i, done] of outcomes.entries()) {
      const kind = carrier.profileOf(numbers[i]).kind;
      const expected: Record<string, string[]> = {
        confirms: ['completed'],
        'needs-help': ['completed'],
        silent: ['completed'],
        'hangs-up-early': ['completed'],
        busy: ['busy'],
        'no-answer': ['no-answer'],
        unreachable: ['no-answer'],
        dead: ['failed'],
      };
      expect(expected[kind]).toContain(done.params.CallStatus);
    }
    const pressed = (r: ReceivedRequest) => r.path === '/twilio/voice/gather';
    for (const req of gateway.requests().filter(pressed))
      expect(['1', '2']).toContain(req.params.Digits);
  }, 15_000);
});
