import * as http from 'node:http';
import type * as https from 'node:https';
import twilio from 'twilio';

export type TwilioClient = twilio.Twilio;

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /**
   * Sends every REST call to this base URL instead of https://*.twilio.com (the sandbox carrier:
   * `http://127.0.0.1:PORT`). The path and query are kept: …/2010-04-01/Accounts/AC…/Calls.json.
   */
  apiBaseUrl?: string;
  /** Request timeout in milliseconds (the SDK's default is 30 s). */
  timeoutMs?: number;
}

type RequestOptions = Parameters<twilio.RequestClient['request']>[0];

/**
 * The SDK's own HTTP client (axios, basic auth, its error handling), with each request's URL
 * re-based from Twilio's domains onto `apiBaseUrl`. The SDK's documented extension point for
 * this is the `httpClient` client option: no global state is touched.
 */
export class BaseUrlRequestClient extends twilio.RequestClient {
  private readonly base: URL;

  constructor(apiBaseUrl: string, opts?: ConstructorParameters<typeof twilio.RequestClient>[0]) {
    super(opts);
    const base = new URL(apiBaseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new Error(`apiBaseUrl must be an http(s) URL (got ${apiBaseUrl})`);
    }
    this.base = base;
    // The SDK gives its HTTPS requests an agent of its own (keep-alive, at most 20 sockets per
    // host, 100 in all); a plain-HTTP base URL (the sandbox carrier, a bench's stub) would get
    // Node's global agent instead, which opens a socket per request without limit. Same agent,
    // same limits: the gateway never has more requests at the provider than it has with Twilio.
    if (base.protocol === 'http:') {
      const tls = this.axios.defaults.httpsAgent as https.Agent;
      this.axios.defaults.httpAgent = new http.Agent({
        keepAlive: true,
        keepAliveMsecs: tls.options.keepAliveMsecs,
        timeout: tls.options.timeout,
        scheduling: tls.options.scheduling,
        maxSockets: tls.maxSockets,
        maxTotalSockets: tls.maxTotalSockets,
        maxFreeSockets: tls.maxFreeSockets,
      });
    }
  }

  /** `https://api.twilio.com/2010-04-01/…?x=1` → `${apiBaseUrl}/2010-04-01/…?x=1` */
  rebase(uri: string): string {
    const original = new URL(uri);
    const host = original.hostname.toLowerCase();
    if (host !== 'twilio.com' && !host.endsWith('.twilio.com')) return uri;
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return `${this.base.origin}${prefix}${original.pathname}${original.search}`;
  }

  override request<TData>(opts: RequestOptions & { data?: TData }) {
    return super.request<TData>({ ...opts, uri: this.rebase(opts.uri) });
  }
}

/** A real twilio SDK client; with `apiBaseUrl`, its REST calls go there (the sandbox carrier). */
export function createTwilioClient(opts: TwilioClientOptions): TwilioClient {
  const clientOpts: twilio.ClientOpts = {};
  if (opts.timeoutMs !== undefined) clientOpts.timeout = opts.timeoutMs;
  if (opts.apiBaseUrl) {
    clientOpts.httpClient = new BaseUrlRequestClient(opts.apiBaseUrl, { timeout: opts.timeoutMs });
  }
  return twilio(opts.accountSid, opts.authToken, clientOpts);
}
