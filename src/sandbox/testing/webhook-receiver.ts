import express, { type Request, type Response } from 'express';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

/**
 * A small HTTP server standing in for the gateway in tests: it records every request, checks
 * `X-Twilio-Signature` with the twilio SDK's `validateRequest`, and answers with whatever the
 * test's handler returns (TwiML, JSON, an error status).
 */
export interface ReceivedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The full URL as requested (what Twilio signs). */
  url: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** Form parameters (POST) or query parameters (GET). */
  params: Record<string, string>;
  /** Parsed body when it was JSON. */
  json?: unknown;
  /** Result of twilio.validateRequest when the request carried X-Twilio-Signature. */
  twilioSignatureValid: boolean | null;
  receivedAt: number;
}

export interface ReplySpec {
  status?: number;
  contentType?: string;
  body?: string;
}

type Handler = (req: ReceivedRequest) => ReplySpec | Promise<ReplySpec>;

export class WebhookReceiver {
  private readonly received: ReceivedRequest[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly waiters = new Set<{
    predicate: (r: ReceivedRequest) => boolean;
    resolve: (r: ReceivedRequest) => void;
  }>();

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
  ) {}

  static async start(opts: { twilioAuthToken?: string } = {}): Promise<WebhookReceiver> {
    const app = express();
    let receiver: WebhookReceiver | null = null;
    app.use(express.raw({ type: () => true, limit: '5mb' }));
    app.use((req: Request, res: Response) => {
      void receiver?.handle(req, res, opts.twilioAuthToken);
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}`);
    return receiver;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Answers requests to `path` (any method, query ignored) with `handler`. */
  on(path: string, handler: Handler): this {
    this.handlers.set(path, handler);
    return this;
  }

  requests(path?: string): ReceivedRequest[] {
    return this.received.filter((r) => path === undefined || r.path === path);
  }

  waitFor(predicate: (r: ReceivedRequest) => boolean, timeoutMs = 5_000): Promise<ReceivedRequest> {
    const existing = this.received.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (r: ReceivedRequest) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.received
          .map((r) => `  ${r.method} ${r.path} ${JSON.stringify(r.params)}`)
          .join('\n');
        reject(new Error(`no matching request within ${timeoutMs} ms; received:\n${seen}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private async handle(req: Request, res: Response, authToken?: string): Promise<void> {
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const url = `${this.baseUrl}${req.originalUrl}`;
    const contentType = String(req.headers['content-type'] ?? '');
    const params: Record<string, string> = {};
    const source =
      req.method === 'GET'
        ? new URL(url).searchParams
        : contentType.includes('urlencoded')
          ? new URLSearchParams(rawBody)
          : null;
    source?.forEach((value, key) => {
      params[key] = value;
    });
    let json: unknown;
    if (contentType.includes('json')) {
      try {
        json = JSON.parse(rawBody);
      } catch {
        json = undefined;
      }
    }
    const signature = req.headers['x-twilio-signature'];
    const twilioSignatureValid =
      typeof signature === 'string' && authToken
        ? twilio.validateRequest(authToken, signature, url, req.method === 'GET' ? {} : params)
        : null;
    const record: ReceivedRequest = {
      method: req.method,
      path: req.path,
      url,
      headers: req.headers,
      rawBody,
      params,
      ...(json !== undefined ? { json } : {}),
      twilioSignatureValid,
      receivedAt: Date.now(),
    };
    this.received.push(record);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(record)) {
        this.waiters.delete(waiter);
        waiter.resolve(record);
      }
    }
    const handler = this.handlers.get(req.path);
    let reply: ReplySpec = { status: 200, contentType: 'text/plain', body: 'OK' };
    try {
      if (handler) reply = await handler(record);
    } catch (err) {
      reply = { status: 500, contentType: 'text/plain', body: String(err) };
    }
    res
      .status(reply.status ?? 200)
      .type(reply.contentType ?? 'text/plain')
      .send(reply.body ?? '');
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

/** A TwiML reply for a handler. */
export function twiml(xml: string | { toString(): string }): ReplySpec {
  return { status: 200, contentType: 'text/xml', body: xml.toString() };
}
