import type { SandboxEvent } from '../../../src/sandbox/event-log';

/**
 * What reached the provider, counted from the Twilio-like server's own event log (its live
 * feed: its stored log keeps only the last 50 000 events): every SMS and call it accepted.
 * A duplicate is the same message to the same person on the same channel accepted twice:
 * - SMS: same number and same body, or the same attempt (its status callback URL);
 * - voice: a call for the same attempt (its TwiML URL names the attempt) placed twice.
 */
export class ProviderLog {
  sms = 0;
  calls = 0;
  private readonly smsByText = new Map<string, number>();
  private readonly smsByAttempt = new Map<string, number>();
  private readonly callsByAttempt = new Map<string, number>();
  /** A few duplicates, for the report: the attempts named by each copy, and the text's start. */
  readonly examples: {
    channel: string;
    to: string;
    key: string;
    times: number;
    attempts?: string[];
    text?: string;
  }[] = [];
  /** The attempt ids (from the callback URLs) seen for each SMS text to a number. */
  private readonly attemptsByText = new Map<string, string[]>();

  readonly onEvent = (e: SandboxEvent): void => {
    if (e.type === 'sms.created') {
      this.sms++;
      const to = e.to ?? '';
      const body = String(e.data.body ?? '');
      const attempt = attemptOf(e.data.statusCallback);
      const key = `${to}\n${body}`;
      this.attemptsByText.set(key, [...(this.attemptsByText.get(key) ?? []), attempt ?? '?']);
      this.bump(this.smsByText, key, 'sms', to, body);
      if (attempt) this.bump(this.smsByAttempt, attempt, 'sms', to);
    } else if (e.type === 'call.created') {
      this.calls++;
      const attempt = attemptOf(e.data.url) ?? attemptOf(e.data.statusCallback);
      if (attempt) this.bump(this.callsByAttempt, attempt, 'voice', e.to ?? '');
    }
  };

  private bump(
    map: Map<string, number>,
    key: string,
    channel: string,
    to: string,
    text?: string,
  ): void {
    const n = (map.get(key) ?? 0) + 1;
    map.set(key, n);
    if (n === 2 && this.examples.length < 10)
      this.examples.push({
        channel,
        to,
        key: key.split('\n')[0].slice(0, 80),
        times: n,
        ...(text !== undefined
          ? { attempts: this.attemptsByText.get(key), text: text.slice(0, 60) }
          : {}),
      });
  }

  /** Messages accepted more than once: the extra copies, counted once per copy. */
  duplicates(): { sms: number; voice: number; total: number } {
    const extra = (m: Map<string, number>) => [...m.values()].reduce((s, n) => s + n - 1, 0);
    const sms = Math.max(extra(this.smsByText), extra(this.smsByAttempt));
    const voice = extra(this.callsByAttempt);
    return { sms, voice, total: sms + voice };
  }
}

/** The attempt id in a callback URL (`/webhooks/twilio/{sms|voice}/<id>/…`). */
function attemptOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  return /\/webhooks\/twilio\/(?:sms|voice)\/([0-9a-f-]{36})\//.exec(url)?.[1];
}
