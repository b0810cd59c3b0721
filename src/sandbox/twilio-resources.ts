import { randomBytes } from 'node:crypto';

/**
 * Twilio's Message and Call resources as the sandbox keeps them, and their JSON as Twilio's
 * REST API returns it (snake_case, RFC 2822 dates, numbers as strings where Twilio uses them).
 */
export const API_VERSION = '2010-04-01';

/** A Twilio SID: two-letter prefix and 32 hex digits. Random, so SIDs never repeat across runs. */
export function newSid(prefix: 'SM' | 'CA' | 'PN' | 'MG'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** RFC 2822 as Twilio writes it: `Thu, 30 Jul 2015 20:12:31 +0000`. */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

const COUNTRY_PREFIXES: [string, string][] = [
  ['+852', 'HK'],
  ['+853', 'MO'],
  ['+886', 'TW'],
  ['+86', 'CN'],
  ['+44', 'GB'],
  ['+81', 'JP'],
  ['+82', 'KR'],
  ['+65', 'SG'],
  ['+61', 'AU'],
  ['+49', 'DE'],
  ['+33', 'FR'],
  ['+1', 'US'],
];

/** ISO country of a number, as Twilio fills `ToCountry`/`FromCountry` ('' when unknown). */
export function countryOf(e164: string): string {
  return COUNTRY_PREFIXES.find(([prefix]) => e164.startsWith(prefix))?.[1] ?? '';
}

export type MessageStatus =
  'accepted' | 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'received';

export interface MessageRecord {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  body: string;
  status: MessageStatus;
  direction: 'outbound-api' | 'inbound';
  messagingServiceSid: string | null;
  numSegments: number;
  errorCode: number | null;
  errorMessage: string | null;
  statusCallback?: string;
  dateCreated: Date;
  dateUpdated: Date;
  dateSent: Date | null;
}

export function messageJson(m: MessageRecord): Record<string, unknown> {
  const uri = `/${API_VERSION}/Accounts/${m.accountSid}/Messages/${m.sid}`;
  return {
    account_sid: m.accountSid,
    api_version: API_VERSION,
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent ? rfc2822(m.dateSent) : null,
    date_updated: rfc2822(m.dateUpdated),
    direction: m.direction,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: '0',
    num_segments: String(m.numSegments),
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: { media: `${uri}/Media.json`, feedback: `${uri}/Feedback.json` },
    to: m.to,
    uri: `${uri}.json`,
  };
}

export type CallStatus =
  | 'queued'
  | 'initiated'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'no-answer'
  | 'failed'
  | 'canceled';

export const FINAL_CALL_STATUSES: ReadonlySet<CallStatus> = new Set([
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
]);

export type CallEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

export interface CallRecord {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  status: CallStatus;
  /** Where the first TwiML comes from (`Url`/`Method`), or inline `Twiml`. */
  url?: string;
  method: 'GET' | 'POST';
  twiml?: string;
  fallbackUrl?: string;
  fallbackMethod: 'GET' | 'POST';
  statusCallback?: string;
  statusCallbackMethod: 'GET' | 'POST';
  statusCallbackEvents: Set<CallEvent>;
  /** Seconds to let the phone ring before giving up (`Timeout`, default 60). */
  timeoutSec: number;
  machineDetection?: string;
  answeredBy: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  startTime: Date | null;
  endTime: Date | null;
  /** Seconds from answer to hang-up, once the call ended. */
  duration: number | null;
  /** Status callbacks sent so far (Twilio's `SequenceNumber`). */
  callbackSequence: number;
  /** Aborted on hang-up (by the callee, by `<Hangup>`, by the REST API) with a reason. */
  abort: AbortController;
}

export function callJson(c: CallRecord): Record<string, unknown> {
  const uri = `/${API_VERSION}/Accounts/${c.accountSid}/Calls/${c.sid}`;
  return {
    account_sid: c.accountSid,
    annotation: null,
    answered_by: c.answeredBy,
    api_version: API_VERSION,
    caller_name: null,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    direction: 'outbound-api',
    duration: c.duration === null ? null : String(c.duration),
    end_time: c.endTime ? rfc2822(c.endTime) : null,
    forwarded_from: null,
    from: c.from,
    from_formatted: c.from,
    group_sid: null,
    parent_call_sid: null,
    phone_number_sid: null,
    price: null,
    price_unit: 'USD',
    queue_time: '0',
    sid: c.sid,
    start_time: c.startTime ? rfc2822(c.startTime) : null,
    status: c.status,
    subresource_uris: {
      notifications: `${uri}/Notifications.json`,
      recordings: `${uri}/Recordings.json`,
      events: `${uri}/Events.json`,
    },
    to: c.to,
    to_formatted: c.to,
    trunk_sid: null,
    uri: `${uri}.json`,
  };
}

/** The parameters Twilio sends with every voice webhook of a call (TwiML fetches, callbacks). */
export function callParams(
  c: CallRecord,
  extra: Record<string, string> = {},
): Record<string, string> {
  const toCountry = countryOf(c.to);
  const fromCountry = countryOf(c.from);
  return {
    AccountSid: c.accountSid,
    ApiVersion: API_VERSION,
    CallSid: c.sid,
    CallStatus: c.status,
    Called: c.to,
    CalledCity: '',
    CalledCountry: toCountry,
    CalledState: '',
    CalledZip: '',
    Caller: c.from,
    CallerCity: '',
    CallerCountry: fromCountry,
    CallerState: '',
    CallerZip: '',
    Direction: 'outbound-api',
    From: c.from,
    FromCity: '',
    FromCountry: fromCountry,
    FromState: '',
    FromZip: '',
    To: c.to,
    ToCity: '',
    ToCountry: toCountry,
    ToState: '',
    ToZip: '',
    ...(c.answeredBy ? { AnsweredBy: c.answeredBy } : {}),
    ...extra,
  };
}

/** Messages and calls by SID. */
export class TwilioStore {
  readonly messages = new Map<string, MessageRecord>();
  readonly calls = new Map<string, CallRecord>();
}
