import twilio from 'twilio';
import type { TestApp } from './app';

let messageSeq = 0;

/** A webhook as Twilio posts it: form-encoded, signed over the public URL and the parameters. */
export function twilioPost(t: TestApp, path: string, params: Record<string, string>) {
  const token = t.sandbox!.env.TWILIO_AUTH_TOKEN;
  const signature = twilio.getExpectedTwilioSignature(token, `${t.baseUrl}${path}`, params);
  return t.http().post(path).type('form').set('X-Twilio-Signature', signature).send(params);
}

/** An SMS a person sends to the gateway's number, as Twilio delivers it. */
export function inboundSms(
  t: TestApp,
  from: string,
  body: string,
  sid = `SM${String(++messageSeq).padStart(26, '0')}${process.pid.toString(16).padStart(6, '0')}`,
) {
  return twilioPost(t, '/webhooks/twilio/sms', {
    AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    MessageSid: sid,
    SmsSid: sid,
    SmsMessageSid: sid,
    From: from,
    To: t.sandbox!.env.TWILIO_FROM_NUMBER,
    Body: body,
    NumMedia: '0',
    NumSegments: '1',
    SmsStatus: 'received',
  });
}

/** The text of the TwiML `<Message>` answered to an inbound SMS, or '' for none. */
export const messageOf = (twiml: string) => /<Message>([\s\S]*)<\/Message>/.exec(twiml)?.[1] ?? '';
