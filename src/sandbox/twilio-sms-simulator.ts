import type { EventLog } from './event-log';
import type { PersonDirectory } from './person-profiles';
import { SandboxStoppedError, type SimClock } from './sim-clock';
import { CARRIER_ERRORS } from './twilio-errors';
import {
  API_VERSION,
  countryOf,
  newSid,
  type MessageRecord,
  type MessageStatus,
  type TwilioStore,
} from './twilio-resources';
import type { TwilioWebhookSender } from './twilio-webhook-sender';
import { messageBodies, parseTwiml } from './twiml';

/** The number replies come back to when a message was sent from a Messaging Service. */
export const SANDBOX_DEFAULT_NUMBER = '+15005550006';

/** Identical messages to one number within this simulated window beyond the cap are filtered. */
const CARRIER_REPEAT_WINDOW_MS = 60 * 60_000;
const CARRIER_REPEAT_CAP = 3;

/**
 * A person replies to an SMS only when it asks for a reply ("回复1确认收到", "reply 1"), so a
 * gateway's own acknowledgement ("已确认，谢谢") does not start an endless exchange.
 */
export function asksForReply(body: string): boolean {
  return /回复|回覆|\breply\b/i.test(body);
}

export interface SmsSimulatorOptions {
  accountSid: string;
  smsInboundUrl?: string;
}

/**
 * What happens to a message after Twilio accepted it: carrier statuses reported to its
 * StatusCallback (queued → sent → delivered, or undelivered/failed with an error code), then
 * the person's reply posted to the inbound webhook of our number.
 */
export class TwilioSmsSimulator {
  /** Send times (real ms) of each (number, body), for the carrier's repeat filter. */
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly opts: SmsSimulatorOptions,
    private readonly store: TwilioStore,
    private readonly people: PersonDirectory,
    private readonly clock: SimClock,
    private readonly webhooks: TwilioWebhookSender,
    private readonly log: EventLog,
  ) {}

  start(message: MessageRecord): void {
    this.run(message).catch((err: unknown) => {
      if (err instanceof SandboxStoppedError) return;
      this.log.record('sms', 'sms.error', {
        ref: message.sid,
        to: message.to,
        data: { error: String(err) },
      });
    });
  }

  private isFiltered(message: MessageRecord): boolean {
    const key = `${message.to}\u0000${message.body}`;
    const now = Date.now();
    const windowReal = this.clock.real(CARRIER_REPEAT_WINDOW_MS);
    const times = (this.recent.get(key) ?? []).filter((t) => now - t < windowReal);
    times.push(now);
    this.recent.set(key, times);
    return times.length > CARRIER_REPEAT_CAP;
  }

  private async run(message: MessageRecord): Promise<void> {
    const person = this.people.get(message.to);
    const filtered = this.isFiltered(message);
    this.log.record('sms', 'sms.person', {
      ref: message.sid,
      to: message.to,
      data: { kind: person.kind },
    });

    await this.clock.sleep(100);
    await this.transition(message, 'queued');
    if (person.sms.outcome === 'failed') {
      await this.clock.sleep(500);
      await this.transition(message, 'failed', person.sms.errorCode ?? 30008);
      return;
    }
    await this.clock.sleep(500);
    message.dateSent = new Date();
    await this.transition(message, 'sent');
    await this.clock.sleep(person.sms.deliverAfterMs);
    if (filtered) {
      await this.transition(message, 'undelivered', 30007);
      return;
    }
    if (person.sms.outcome === 'undelivered') {
      await this.transition(message, 'undelivered', person.sms.errorCode ?? 30003);
      return;
    }
    await this.transition(message, 'delivered');

    const reply = person.sms.reply;
    if (reply === null || !asksForReply(message.body)) return;
    await this.clock.sleep(person.sms.replyAfterMs);
    await this.reply(message, reply);
  }

  private async transition(
    message: MessageRecord,
    status: MessageStatus,
    errorCode?: number,
  ): Promise<void> {
    message.status = status;
    message.dateUpdated = new Date();
    if (errorCode !== undefined) {
      message.errorCode = errorCode;
      message.errorMessage = CARRIER_ERRORS[errorCode] ?? null;
    }
    this.log.record('sms', 'sms.status', {
      ref: message.sid,
      to: message.to,
      data: { status, ...(errorCode !== undefined ? { errorCode } : {}) },
    });
    if (!message.statusCallback) return;
    const params: Record<string, string> = {
      AccountSid: message.accountSid,
      ApiVersion: API_VERSION,
      From: message.from,
      MessageSid: message.sid,
      MessageStatus: status,
      SmsSid: message.sid,
      SmsStatus: status,
      To: message.to,
      ...(message.messagingServiceSid ? { MessagingServiceSid: message.messagingServiceSid } : {}),
      ...(errorCode !== undefined ? { ErrorCode: String(errorCode) } : {}),
      ...(status === 'delivered' ? { RawDlrDoneDate: rawDlrDate(new Date()) } : {}),
    };
    await this.webhooks.send({
      url: message.statusCallback,
      method: 'POST',
      params,
      channel: 'sms',
      ref: message.sid,
      purpose: `status:${status}`,
    });
  }

  /** The person's answer, as Twilio posts an incoming message to our number's webhook. */
  private async reply(original: MessageRecord, body: string): Promise<void> {
    const ourNumber = original.from;
    if (!ourNumber.startsWith('+')) {
      // An alphanumeric sender ID cannot receive messages.
      this.log.record('sms', 'sms.reply', {
        ref: original.sid,
        to: ourNumber,
        data: {
          from: original.to,
          body,
          inReplyTo: original.sid,
          posted: false,
          reason: 'alphanumeric sender',
        },
      });
      return;
    }
    const now = new Date();
    const inbound: MessageRecord = {
      sid: newSid('SM'),
      accountSid: this.opts.accountSid,
      to: ourNumber,
      from: original.to,
      body,
      status: 'received',
      direction: 'inbound',
      messagingServiceSid: original.messagingServiceSid,
      numSegments: 1,
      errorCode: null,
      errorMessage: null,
      dateCreated: now,
      dateUpdated: now,
      dateSent: now,
    };
    this.store.messages.set(inbound.sid, inbound);
    const url = this.opts.smsInboundUrl;
    this.log.record('sms', 'sms.reply', {
      ref: inbound.sid,
      to: ourNumber,
      data: { from: inbound.from, body, inReplyTo: original.sid, posted: Boolean(url) },
    });
    if (!url) return;
    const params: Record<string, string> = {
      AccountSid: inbound.accountSid,
      ApiVersion: API_VERSION,
      Body: body,
      From: inbound.from,
      FromCity: '',
      FromCountry: countryOf(inbound.from),
      FromState: '',
      FromZip: '',
      MessageSid: inbound.sid,
      NumMedia: '0',
      NumSegments: '1',
      SmsMessageSid: inbound.sid,
      SmsSid: inbound.sid,
      SmsStatus: 'received',
      To: inbound.to,
      ToCity: '',
      ToCountry: countryOf(inbound.to),
      ToState: '',
      ToZip: '',
      ...(inbound.messagingServiceSid ? { MessagingServiceSid: inbound.messagingServiceSid } : {}),
    };
    const result = await this.webhooks.send({
      url,
      method: 'POST',
      params,
      channel: 'sms',
      ref: inbound.sid,
      purpose: 'incoming-message',
    });
    if (result.ok && result.body.trim()) {
      try {
        const replies = messageBodies(parseTwiml(result.body));
        if (replies.length) {
          this.log.record('sms', 'sms.reply.answered', {
            ref: inbound.sid,
            to: inbound.from,
            data: { messages: replies },
          });
        }
      } catch {
        // A non-TwiML answer (plain "OK") is what many apps return; Twilio ignores it too.
      }
    }
  }
}

/** Carrier delivery receipt date as Twilio relays it: YYMMDDhhmm. */
function rawDlrDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}
