import { presetProfile } from '../../sandbox/person-profiles';
import type { SandboxCarrier } from '../../sandbox/sandbox-carrier';
import {
  startTestSandbox,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
} from '../../sandbox/testing/fixtures';
import { ChannelError } from '../channel.types';
import { CallbackServer } from '../testing/callback-server';
import { createTwilioClient } from '../twilio/twilio-client.factory';
import { parseCallStatusEvent, parseGatherEvent, type GatherEvent } from '../twilio/twilio-webhook';
import {
  gatherReplyTwiml,
  warningCallTwiml,
  type GatherReply,
  type WarningCallScripts,
} from './twiml';
import { TwilioVoiceChannel } from './voice.channel';

const FROM = '+8610690000110';
const SCRIPTS: WarningCallScripts = {
  script:
    '您好，这里是汶川县应急预警电话。映秀镇渔子溪村可能发生滑坡，请立即撤离到映秀镇小学。按1确认收到，按2请求支援。',
  reprompt: '请按1确认收到，按2请求支援。',
  thanks: '已确认收到，谢谢。',
  helpAcknowledged: '已收到您的求助，工作人员将尽快联系您。',
};

describe('TwilioVoiceChannel through the real twilio SDK against the sandbox carrier', () => {
  let gateway: CallbackServer;
  let carrier: SandboxCarrier;
  let voice: TwilioVoiceChannel;
  const replies: { event: GatherEvent; reply: GatherReply }[] = [];

  const paths = (attempt: string) => ({
    twiml: `/webhooks/twilio/voice/${attempt}/twiml`,
    gather: `/webhooks/twilio/voice/${attempt}/gather`,
    status: `/webhooks/twilio/voice/${attempt}/status`,
  });

  /** The gateway's voice routes, as the lead's controller will serve them. */
  const serve = (attempt: string) => {
    const p = paths(attempt);
    const gatherUrl = gateway.url(p.gather);
    gateway.on(p.twiml, () => ({
      contentType: 'text/xml',
      body: warningCallTwiml({ scripts: SCRIPTS, gatherUrl }),
    }));
    gateway.on(p.gather, (req) => {
      const event = parseGatherEvent(req.params, req.url);
      const reply = gatherReplyTwiml({
        scripts: SCRIPTS,
        gatherUrl,
        digits: event.digits,
        round: event.round,
      });
      replies.push({ event, reply });
      return { contentType: 'text/xml', body: reply.twiml };
    });
    return p;
  };

  const place = (to: string, attempt: string) => {
    const p = serve(attempt);
    return voice.call({
      to,
      twimlUrl: gateway.url(p.twiml),
      statusCallbackUrl: gateway.url(p.status),
    });
  };

  const finalStatus = (attempt: string) =>
    gateway.waitFor(
      (r) =>
        r.path === paths(attempt).status &&
        ['completed', 'busy', 'failed', 'no-answer', 'canceled'].includes(
          String(r.params.CallStatus),
        ),
    );

  beforeEach(async () => {
    replies.length = 0;
    gateway = await CallbackServer.start(TEST_AUTH_TOKEN);
    carrier = await startTestSandbox();
    const client = createTwilioClient({
      accountSid: TEST_ACCOUNT_SID,
      authToken: TEST_AUTH_TOKEN,
      apiBaseUrl: carrier.baseUrl,
    });
    voice = new TwilioVoiceChannel(client, { fromNumber: FROM });
  });

  afterEach(async () => {
    await carrier.stop();
    await gateway.stop();
  });

  it('places the call; the callee presses 1 while the warning still plays; thanks, hang up', async () => {
    const to = '+8613900000001';
    carrier.setProfile(
      to,
      presetProfile('confirms', { voice: { ringMs: 1_000, keyAfterMs: 2_000 } }),
    );
    const receipt = await place(to, 'a1');
    expect(receipt.providerId).toMatch(/^CA[0-9a-f]{32}$/);
    expect(receipt.status).toBe('queued');

    const created = await carrier.waitFor({ type: 'call.created', ref: receipt.providerId });
    expect(created.data).toMatchObject({
      from: FROM,
      method: 'POST',
      timeoutSec: 30,
      statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'],
    });

    const last = await finalStatus('a1');
    const statuses = gateway.requests(paths('a1').status);
    expect(statuses.every((s) => s.twilioSignatureValid === true)).toBe(true);
    expect(statuses.map((s) => parseCallStatusEvent(s.params).status)).toEqual([
      'initiated',
      'ringing',
      'in-progress',
      'completed',
    ]);
    const done = parseCallStatusEvent(last.params);
    expect(done).toMatchObject({ callSid: receipt.providerId, status: 'completed', final: true });
    expect(done.durationSec).toBeGreaterThan(0);

    const twimlFetch = gateway.requests(paths('a1').twiml)[0];
    expect(twimlFetch.method).toBe('POST');
    expect(twimlFetch.twilioSignatureValid).toBe(true);
    expect(gateway.requests(paths('a1').gather).every((g) => g.twilioSignatureValid === true)).toBe(
      true,
    );

    expect(replies).toHaveLength(1);
    expect(replies[0].event).toMatchObject({ callSid: receipt.providerId, digits: '1', round: 1 });
    expect(replies[0].reply).toMatchObject({ outcome: 'confirmed', final: true });
    const gather = await carrier.waitFor({ type: 'call.gather', ref: receipt.providerId });
    expect(gather.data).toMatchObject({ digits: '1', duringPrompt: true });
    const thanks = carrier.events(
      (e) =>
        e.type === 'call.say' && e.ref === receipt.providerId && e.data.text === SCRIPTS.thanks,
    );
    expect(thanks).toHaveLength(1);
  });

  it('asks for help on key 2', async () => {
    const to = '+8613900000002';
    carrier.setProfile(
      to,
      presetProfile('needs-help', { voice: { ringMs: 500, keyAfterMs: 1_000 } }),
    );
    await place(to, 'a2');
    await finalStatus('a2');
    expect(replies.map((r) => [r.event.digits, r.reply.outcome])).toEqual([
      ['2', 'help_requested'],
    ]);
  });

  it('a silent callee hears the warning, then the reprompt and one repeat; the gateway learns "heard"', async () => {
    const to = '+8613900000003';
    carrier.setProfile(to, presetProfile('silent', { voice: { ringMs: 500 } }));
    const receipt = await place(to, 'a3');
    await finalStatus('a3');
    expect(
      replies.map((r) => [
        r.event.round,
        r.event.digits,
        r.reply.outcome,
        r.reply.heard,
        r.reply.final,
      ]),
    ).toEqual([
      [1, '', 'no_key', true, false],
      [2, '', 'no_key', true, true],
    ]);
    const said = carrier
      .events((e) => e.type === 'call.say' && e.ref === receipt.providerId)
      .map((e) => e.data.text);
    expect(said).toEqual([SCRIPTS.script, SCRIPTS.reprompt, SCRIPTS.script]);
    expect(
      carrier
        .events((e) => e.type === 'call.say' && e.ref === receipt.providerId)
        .every((e) => e.data.completed === true),
    ).toBe(true);
  });

  it('reports a callee who never answers as no-answer', async () => {
    const to = '+8613900000004';
    carrier.setProfile(to, 'no-answer');
    await place(to, 'a4');
    const last = await finalStatus('a4');
    expect(parseCallStatusEvent(last.params)).toMatchObject({
      status: 'no-answer',
      final: true,
      durationSec: 0,
    });
    expect(gateway.requests(paths('a4').twiml)).toHaveLength(0);
  });

  it('hangs up a ringing call by its SID (canceled)', async () => {
    const to = '+8613900000005';
    carrier.setProfile(to, presetProfile('no-answer'));
    const receipt = await place(to, 'a5');
    await gateway.waitFor(
      (r) => r.path === paths('a5').status && r.params.CallStatus === 'ringing',
    );
    await voice.hangUp(receipt.providerId);
    const last = await finalStatus('a5');
    expect(parseCallStatusEvent(last.params).status).toBe('canceled');
    await voice.hangUp(receipt.providerId); // a finished call: nothing happens, no error
  });

  it('refuses an invalid number before calling Twilio (permanent)', async () => {
    const err = (await voice
      .call({
        to: '0838-1234567',
        twimlUrl: gateway.url('/x'),
        statusCallbackUrl: gateway.url('/y'),
      })
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe('permanent');
    expect(carrier.events({ type: 'call.created' })).toHaveLength(0);
  });

  it('maps hanging up an unknown call (404 / 20404) to permanent', async () => {
    const err = (await voice
      .hangUp(`CA${'0'.repeat(32)}`)
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toMatchObject({ kind: 'permanent', code: '20404' });
  });
});
