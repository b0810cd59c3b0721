import express, { type Request, type Response } from 'express';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyTwilioSignature, type TwilioParams } from '../twilio/twilio-webhook';

/**
 * A local stand-in for the gateway's webhook routes in channel tests: every request is recorded
 * with its form parameters, and a request carrying X-Twilio-Signature is checked with
 * twilio-webhook.ts (the gateway's own check); an invalid one is answered 403, as the gateway does.
 */
export interface CallbackRequest {
  method: string;
  path: string;
  /** The full URL as requested (what Twilio signs). */
  url: string;
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  /** Form parameters (repeated keys as arrays). */
  params: TwilioParams;
  /** verifyTwilioSignature's result, null when the request had no X-Twilio-Signature. */
  twilioSignatureValid: boolean | null;
}

export interface CallbackReply {
  status?: number;
  contentType?: string;
  body?: string;
}

type Handler = (req: CallbackRequest) => CallbackReply | Promise<CallbackReply>;

function formParams(raw: Buffer, contentType: string): TwilioParams {
  const params: TwilioParams = {};
  if (!contentType.includes('application/x-www-form-urlencoded')) return params;
  new URLSearchParams(raw.toString('utf8')).forEach((value, key) => {
    const existing = params[key];
    if (existing === undefined) params[key] = value;
    else params[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  });
  return params;
}

export class CallbackServer {
  private readonly received: CallbackRequest[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly waiters = new Set<{
    predicate: (r: CallbackRequest) => boolean;
    resolve: (r: CallbackRequest) => void;
  }>();

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
  ) {}

  static async start(twilioAuthToken?: string): Promise<CallbackServer> {
    const app = express();
    const ref: { current?: CallbackServer } = {};
    app.use(express.raw({ type: () => true, limit: '5mb' }));
    app.use((req: Request, res: Response) => {
      void ref.current?.handle(req, res, twilioAuthToken);
    });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    ref.current = new CallbackServer(server, `http://127.0.0.1:${port}`);
    return ref.current;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Answers requests to `path` (query ignored). */
  on(path: string, handler: Handler): this {
    this.handlers.set(path, handler);
    return this;
  }

  requests(path?: string): CallbackRequest[] {
    return this.received.filter((r) => path === undefined || r.path === path);
  }

  waitFor(
    predicate: (r: CallbackRequest) => boolean,
    timeoutMs = 10_000,
  ): Promise<CallbackRequest> {
    const existing = this.received.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (r: CallbackRequest) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.received
          .map((r) => `  ${r.method} ${r.path} ${JSON.stringify(r.params)}`)
          .join('\n');
        reject(new Error(`no matching callback within ${timeoutMs} ms; received:\n${seen}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private async handle(req: Request, res: Response, authToken?: string): Promise<void> {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const url = `${this.baseUrl}${req.originalUrl}`;
    const params = formParams(rawBody, String(req.headers['content-type'] ?? ''));
    const signature = req.headers['x-twilio-signature'];
    const twilioSignatureValid =
      signature !== undefined && authToken !== undefined
        ? verifyTwilioSignature(authToken, { url, params, signature })
        : null;
    const record: CallbackRequest = {
      method: req.method,
      path: req.path,
      url,
      headers: req.headers,
      rawBody,
      params,
      twilioSignatureValid,
    };
    this.received.push(record);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(record)) {
        this.waiters.delete(waiter);
        waiter.resolve(record);
      }
    }
    if (twilioSignatureValid === false) {
      res.status(403).type('text/plain').send('invalid signature');
      return;
    }
    const handler = this.handlers.get(req.path);
    let reply: CallbackReply = { status: 204 };
    try {
      if (handler) reply = await handler(record);
    } catch (err) {
      reply = { status: 500, contentType: 'text/plain', body: String(err) };
    }
    res.status(reply.status ?? 200);
    if (reply.contentType) res.type(reply.contentType);
    res.send(reply.body ?? '');
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
