import type { SandboxEvent } from '../../src/sandbox/event-log';
import { ProviderLog } from './harness/provider-log';

const A1 = '11111111-1111-4111-8111-111111111111';
const A2 = '22222222-2222-4222-8222-222222222222';

let seq = 0;
const sms = (to: string, body: string, attempt: string): SandboxEvent => ({
  seq: ++seq,
  at: new Date().toISOString(),
  channel: 'twilio-sms' as SandboxEvent['channel'],
  type: 'sms.created',
  to,
  data: { body, statusCallback: `http://gw/webhooks/twilio/sms/${attempt}/status` },
});
const call = (to: string, attempt: string): SandboxEvent => ({
  seq: ++seq,
  at: new Date().toISOString(),
  channel: 'twilio-voice' as SandboxEvent['channel'],
  type: 'call.created',
  to,
  data: { url: `http://gw/webhooks/twilio/voice/${attempt}/twiml` },
});

describe('the fault suite counts what the provider accepted twice', () => {
  it('counts the same text to the same number twice, and names the attempts of each copy', () => {
    const log = new ProviderLog();
    log.onEvent(sms('+8613800000001', '【应急预警】红色预警：立即撤离', A1));
    log.onEvent(sms('+8613800000001', '【应急预警】红色预警：立即撤离', A2));
    log.onEvent(sms('+8613800000002', '【应急预警】红色预警：立即撤离', A1.replace(/1/g, '3')));
    expect(log.sms).toBe(3);
    expect(log.duplicates()).toEqual({ sms: 1, voice: 0, total: 1 });
    expect(log.examples).toEqual([
      {
        channel: 'sms',
        to: '+8613800000001',
        key: '+8613800000001',
        times: 2,
        attempts: [A1, A2],
        text: '【应急预警】红色预警：立即撤离',
      },
    ]);
  });

  it('counts one attempt sent twice even when its text changed, and a call placed twice', () => {
    const log = new ProviderLog();
    log.onEvent(sms('+8613800000001', '第一版', A1));
    log.onEvent(sms('+8613800000001', '第二版', A1));
    log.onEvent(call('+8613800000001', A2));
    log.onEvent(call('+8613800000001', A2));
    expect(log.duplicates()).toEqual({ sms: 1, voice: 1, total: 2 });
  });

  it('counts nothing for different texts to one number, each from its own attempt', () => {
    const log = new ProviderLog();
    log.onEvent(sms('+8613800000001', '预警', A1));
    log.onEvent(sms('+8613800000001', '解除', A2));
    expect(log.duplicates()).toEqual({ sms: 0, voice: 0, total: 0 });
    expect(log.examples).toEqual([]);
  });
});
