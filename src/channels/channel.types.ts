/**
 * The contract between dispatch and the delivery channels. Dispatch decides who gets what and
 * renders the message (src/templates); a channel only speaks its provider's protocol: it builds
 * the request, sends it, and says how the provider answered. Channels never touch the database.
 */
export const CHANNEL_KINDS = [
  'sms',
  'voice',
  'email',
  'wecom',
  'dingtalk',
  'feishu',
  'broadcast',
  'manual',
] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** How a provider failure is to be handled by dispatch. */
export type ChannelFailureKind =
  /** Network trouble, 5xx, timeouts: retry the same attempt with backoff. */
  | 'transient'
  /** Invalid number, rejected content, 4xx: fail the attempt at once; the chain moves on. */
  | 'permanent'
  /** The provider asked us to slow down: retry after `retryAfterMs`. */
  | 'rate_limited'
  /** Our circuit breaker for the provider is open: fail over to the next channel now. */
  | 'circuit_open';

export class ChannelError extends Error {
  constructor(
    readonly kind: ChannelFailureKind,
    /** The provider's own error code when it gave one (e.g. Twilio 21211, WeCom 45009). */
    readonly code: string | undefined,
    message: string,
    readonly retryAfterMs?: number,
    /**
     * The request may have reached the provider and its answer never came (a time-out, a
     * connection cut after the request was written): the provider may have accepted it, or may
     * still accept it. Nothing was sent only when this is false.
     */
    readonly unanswered = false,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** What a provider said when it accepted a message or call. */
export interface SendReceipt {
  /** The provider's id (Twilio SM…/CA… sid, SMTP message id, broadcast task id). */
  providerId: string;
  /** Provider status at acceptance, e.g. 'queued'. */
  status: string;
  /** SMS: number of billed segments. */
  segments?: number;
}
