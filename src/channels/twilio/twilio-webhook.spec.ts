import twilio from 'twilio';
import {
  parseCallStatusEvent,
  parseGatherEvent,
  parseInboundSmsEvent,
  parseSmsStatusEvent,
  publicWebhookUrl,
  TwilioWebhookError,
  TwilioWebhookVerifier,
  verifyTwilioSignature,
} from './twilio-webhook';

const TOKEN = 'test-auth-token-123';
const URL_ = 'https://gw.example.cn/webhooks/twilio/voice/3f1c/gather?round=1';

describe('X-Twilio-Signature', () => {
  const params = { CallSid: 'CA1', Digits: '1', To: '+8613800000000' };
  const signature = twilio.getExpectedTwilioSignature(TOKEN, URL_, params);

  it('accepts the signature Twilio computes over the full URL and the form parameters', () => {
    expect(verifyTwilioSignature(TOKEN, { url: URL_, params, signature })).toBe(true);
    expect(
      new TwilioWebhookVerifier(TOKEN).verify({ url: URL_, params, signature: [signature] }),
    ).toBe(true);
  });

  it('refuses a changed parameter, another URL, another token, or no signature', () => {
    expect(
      verifyTwilioSignature(TOKEN, { url: URL_, params: { ...params, Digits: '2' }, signature }),
    ).toBe(false);
    expect(
      verifyTwilioSignature(TOKEN, { url: URL_.replace('round=1', 'round=2'), params, signature }),
    ).toBe(false);
    expect(verifyTwilioSignature('other-token', { url: URL_, params, signature })).toBe(false);
    expect(verifyTwilioSignature(TOKEN, { url: URL_, params, signature: undefined })).toBe(false);
    expect(new TwilioWebhookVerifier('').verify({ url: URL_, params, signature })).toBe(false);
    expect(verifyTwilioSignature(TOKEN, { url: 'not a url', params, signature })).toBe(false);
  });

  it('handles repeated parameters as Twilio signs them', () => {
    const repeated = { StatusCallbackEvent: ['initiated', 'ringing'], CallSid: 'CA1' };
    const sig = twilio.getExpectedTwilioSignature(TOKEN, URL_, repeated);
    expect(verifyTwilioSignature(TOKEN, { url: URL_, params: repeated, signature: sig })).toBe(
      true,
    );
  });

  it('builds the public URL behind a proxy', () => {
    expect(publicWebhookUrl('https://gw.example.cn/', '/webhooks/twilio/sms?x=1')).toBe(
      'https://gw.example.cn/webhooks/twilio/sms?x=1',
    );
    expect(publicWebhookUrl('https://gw.example.cn/base', '/webhooks/twilio/sms')).toBe(
      'https://gw.example.cn/base/webhooks/twilio/sms',
    );
  });
});

describe('webhook bodies', () => {
  it('SMS status with the carrier error code', () => {
    expect(
      parseSmsStatusEvent({
        MessageSid: 'SM1',
        MessageStatus: 'undelivered',
        ErrorCode: '30003',
        To: '+86138',
        From: '+86106',
        AccountSid: 'AC1',
      }),
    ).toEqual({
      messageSid: 'SM1',
      status: 'undelivered',
      final: true,
      errorCode: 30003,
      to: '+86138',
      from: '+86106',
      accountSid: 'AC1',
    });
    expect(parseSmsStatusEvent({ SmsSid: 'SM2', SmsStatus: 'sent' })).toEqual({
      messageSid: 'SM2',
      status: 'sent',
      final: false,
    });
    expect(() => parseSmsStatusEvent({ MessageSid: 'SM1', MessageStatus: 'exploded' })).toThrow(
      TwilioWebhookError,
    );
    expect(() => parseSmsStatusEvent({ MessageStatus: 'sent' })).toThrow('missing SmsSid');
  });

  it('call status with duration, answeredBy, SIP code, sequence and time', () => {
    const e = parseCallStatusEvent({
      CallSid: 'CA1',
      CallStatus: 'completed',
      CallDuration: '42',
      AnsweredBy: 'human',
      SipResponseCode: '200',
      SequenceNumber: '3',
      Timestamp: 'Thu, 30 Jul 2015 20:12:31 +0000',
    });
    expect(e).toMatchObject({
      callSid: 'CA1',
      status: 'completed',
      final: true,
      durationSec: 42,
      answeredBy: 'human',
      sipResponseCode: 200,
      sequenceNumber: 3,
    });
    expect(e.timestamp?.toISOString()).toBe('2015-07-30T20:12:31.000Z');
    expect(
      parseCallStatusEvent({ CallSid: 'CA1', CallStatus: 'failed', ErrorCode: '32009' }),
    ).toMatchObject({ final: true, errorCode: 32009 });
    expect(parseCallStatusEvent({ CallSid: 'CA1', CallStatus: 'ringing' }).final).toBe(false);
  });

  it('inbound SMS and gather', () => {
    expect(
      parseInboundSmsEvent({
        MessageSid: 'SM9',
        From: '+86138',
        To: '+86106',
        Body: ' 收到 ',
        NumSegments: '1',
      }),
    ).toEqual({
      messageSid: 'SM9',
      from: '+86138',
      to: '+86106',
      body: ' 收到 ',
      numSegments: 1,
    });
    expect(
      parseGatherEvent(
        { CallSid: 'CA1', Digits: '2', CallStatus: 'in-progress' },
        '/x/gather?round=2',
      ),
    ).toEqual({
      callSid: 'CA1',
      digits: '2',
      round: 2,
      callStatus: 'in-progress',
    });
    expect(parseGatherEvent({ CallSid: 'CA1', Digits: '' }, '/x/gather').digits).toBe('');
  });
});
