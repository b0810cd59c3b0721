import { countSmsSegments } from '../../templates/sms-segments';
import type { ListedMessage, SmsChannel, SmsSendRequest } from '../channel.interface';
import { ChannelError, type SendReceipt } from '../channel.types';
import type { TwilioClient } from '../twilio/twilio-client.factory';
import { twilioChannelError } from '../twilio/twilio-errors';

export interface TwilioSmsOptions {
  /** Sender number (E.164); used when there is no Messaging Service. */
  fromNumber?: string;
  /** Messaging Service SID (MG…); preferred over `fromNumber` when both are set. */
  messagingServiceSid?: string;
  /** SMS_SIGNATURE, without brackets. */
  signature: string;
}

/** Twilio's cap on one (concatenated) message body. */
export const TWILIO_MAX_BODY_CHARS = 1600;
const E164 = /^\+[1-9]\d{1,14}$/;

/** `【签名】…` at the start or end of the body (Chinese carriers accept both places). */
const HAS_SIGNATURE = /^\s*【[^】]+】|【[^】]+】\s*$/;

/** SMS through Twilio's Messages API (`POST /2010-04-01/Accounts/{Sid}/Messages.json`). */
export class TwilioSmsChannel implements SmsChannel {
  readonly kind = 'sms' as const;

  constructor(
    private readonly client: TwilioClient,
    private readonly options: TwilioSmsOptions,
  ) {
    if (!options.fromNumber && !options.messagingServiceSid) {
      throw new Error('TwilioSmsChannel needs a from number or a messaging service SID');
    }
  }

  /** The body as sent: the carrier-registered signature is added when the text has none. */
  signedBody(body: string): string {
    return HAS_SIGNATURE.test(body) ? body : `【${this.options.signature}】${body}`;
  }

  async findSent(query: {
    to: string;
    body: string;
    since: Date;
    exclude: string[];
  }): Promise<SendReceipt | undefined> {
    const body = this.signedBody(query.body);
    try {
      // Newest first; a message still queued at Twilio has no date_sent, so by creation time.
      const recent = await this.client.messages.list({ to: query.to, limit: 100 });
      const found = recent.find(
        (m) =>
          m.body === body &&
          m.dateCreated >= query.since &&
          !query.exclude.includes(m.sid) &&
          !String(m.direction ?? 'outbound').startsWith('inbound'),
      );
      if (!found) return undefined;
      const segments = Number.parseInt(found.numSegments ?? '', 10);
      return {
        providerId: found.sid,
        status: found.status,
        ...(Number.isFinite(segments) && segments > 0 ? { segments } : {}),
      };
    } catch (err) {
      throw twilioChannelError(err, `the SMS list for ${query.to}`);
    }
  }

  async listSentSince(
    since: Date,
    visit: (page: ListedMessage[]) => Promise<boolean>,
  ): Promise<void> {
    // Twilio filters by the UTC date only ("on or after midnight"); `visit` sees the times.
    const day = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()));
    try {
      let page = await this.client.messages.page({ dateSentAfter: day, pageSize: 1000 });
      for (;;) {
        const listed = page.instances
          .filter((m) => !String(m.direction ?? 'outbound').startsWith('inbound'))
          .map((m) => ({
            providerId: m.sid,
            status: m.status,
            ...(m.errorCode ? { errorCode: String(m.errorCode) } : {}),
            at: m.dateSent ?? m.dateCreated,
          }));
        if (!(await visit(listed)) || !page.nextPageUrl) return;
        const next = (await page.nextPage()) as typeof page | undefined;
        if (!next) return;
        page = next;
      }
    } catch (err) {
      throw twilioChannelError(err, 'the list of messages sent');
    }
  }

  async statusOf(providerId: string): Promise<{ status: string; errorCode?: string }> {
    try {
      const m = await this.client.messages(providerId).fetch();
      return { status: m.status, ...(m.errorCode ? { errorCode: String(m.errorCode) } : {}) };
    } catch (err) {
      throw twilioChannelError(err, `the status of ${providerId}`);
    }
  }

  async send(request: SmsSendRequest): Promise<SendReceipt> {
    if (!E164.test(request.to)) {
      throw new ChannelError('permanent', 'invalid_number', `not an E.164 number: ${request.to}`);
    }
    if (!request.body.trim())
      throw new ChannelError('permanent', 'empty_body', 'SMS body is empty');
    const body = this.signedBody(request.body);
    if (body.length > TWILIO_MAX_BODY_CHARS) {
      throw new ChannelError(
        'permanent',
        'body_too_long',
        `SMS body is ${body.length} characters; Twilio accepts at most ${TWILIO_MAX_BODY_CHARS}`,
      );
    }
    const sender = this.options.messagingServiceSid
      ? { messagingServiceSid: this.options.messagingServiceSid }
      : { from: this.options.fromNumber as string };
    try {
      const message = await this.client.messages.create({
        to: request.to,
        body,
        ...sender,
        ...(request.statusCallbackUrl ? { statusCallback: request.statusCallbackUrl } : {}),
      });
      const fromApi = Number.parseInt(message.numSegments ?? '', 10);
      return {
        providerId: message.sid,
        status: message.status,
        segments:
          Number.isFinite(fromApi) && fromApi > 0
            ? fromApi
            : countSmsSegments(body, { unit: 'utf16' }),
      };
    } catch (err) {
      throw twilioChannelError(err, `the SMS to ${request.to}`);
    }
  }
}
