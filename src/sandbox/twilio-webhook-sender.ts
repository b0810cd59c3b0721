import twilio from 'twilio';
import type { EventLog, SandboxChannel } from './event-log';
import { describeError, type OutboundHttp } from './http-client';

export interface TwilioWebhook {
  url: string;
  method: 'GET' | 'POST';
  params: Record<string, string>;
  /** For the event log. */
  channel: SandboxChannel;
  ref: string;
  purpose: string;
}

export type WebhookResult =
  | { ok: true; status: number; body: string; contentType: string }
  | { ok: false; status: number | null; body: string; error: string };

/**
 * Posts webhooks the way Twilio does: form-encoded parameters (POST) or parameters appended to
 * the query string (GET), signed with `X-Twilio-Signature`, computed by the twilio SDK's own
 * `getExpectedTwilioSignature` (HMAC-SHA1 with the auth token over the URL followed by the
 * sorted parameter names and values; for GET, over the full URL with no parameters).
 */
export class TwilioWebhookSender {
  constructor(
    private readonly authToken: string,
    private readonly http: OutboundHttp,
    private readonly log: EventLog,
  ) {}

  /** The exact URL and body a webhook goes out with, and its signature. */
  prepare(hook: Pick<TwilioWebhook, 'url' | 'method' | 'params'>): {
    url: string;
    body?: string;
    signature: string;
  } {
    if (hook.method === 'GET') {
      const query = new URLSearchParams(hook.params).toString();
      const url = query ? `${hook.url}${hook.url.includes('?') ? '&' : '?'}${query}` : hook.url;
      return { url, signature: twilio.getExpectedTwilioSignature(this.authToken, url, {}) };
    }
    return {
      url: hook.url,
      body: new URLSearchParams(hook.params).toString(),
      signature: twilio.getExpectedTwilioSignature(this.authToken, hook.url, hook.params),
    };
  }

  async send(hook: TwilioWebhook): Promise<WebhookResult> {
    const { url, body, signature } = this.prepare(hook);
    const headers: Record<string, string> = {
      'X-Twilio-Signature': signature,
      'User-Agent': 'TwilioProxy/1.1',
      Accept: '*/*',
      'I-Twilio-Idempotency-Token': `${hook.ref}-${hook.purpose}-${Date.now()}`,
    };
    if (body !== undefined)
      headers['Content-Type'] = 'application/x-www-form-urlencoded; charset=UTF-8';
    let result: WebhookResult;
    try {
      const res = await this.http.request({ method: hook.method, url, headers, body });
      const contentType = String(res.headers['content-type'] ?? '');
      result =
        res.status >= 200 && res.status < 300
          ? { ok: true, status: res.status, body: res.body, contentType }
          : { ok: false, status: res.status, body: res.body, error: `HTTP ${res.status}` };
    } catch (err) {
      result = { ok: false, status: null, body: '', error: describeError(err) };
    }
    this.log.record(hook.channel, 'twilio.webhook', {
      ref: hook.ref,
      data: {
        purpose: hook.purpose,
        method: hook.method,
        url: hook.url,
        params: hook.params,
        status: result.status,
        ...(result.ok ? {} : { error: result.error }),
      },
    });
    return result;
  }
}
