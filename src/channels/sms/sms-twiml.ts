import twilio from 'twilio';

/**
 * The answer to an incoming SMS (POST /webhooks/twilio/sms): `<Response/>` to stay silent, or a
 * `<Message>` Twilio sends back to the person (e.g. "已确认，谢谢"). Keep the reply free of
 * "回复…" wording so it cannot start an exchange.
 */
export function smsReplyTwiml(reply?: string): string {
  const response = new twilio.twiml.MessagingResponse();
  if (reply) response.message(reply);
  return response.toString();
}
