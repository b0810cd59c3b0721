import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type WebhookMode =
  | { kind: 'pass' }
  /**
   * Provider webhooks (status callbacks, keypresses, SMS replies) replayed and reordered:
   * `replayRatio` of them are posted again, identically signed, up to `maxDelayMs` later; of the
   * progress callbacks that are not final (`sent`, `ringing`, …), `lateRatio` are held back and
   * posted only after the later ones (answered 200 to the provider at once).
   */
  | { kind: 'replay'; replayRatio: number; lateRatio: number; maxDelayMs: number };

const NOT_FINAL =
  /(?:^|&)(?:MessageStatus=(?:queued|sent|accepted)|CallStatus=(?:initiated|ringing|in-progress))(?:&|$)/;

/**
 * Stands where the gateway's PUBLIC_BASE_URL points: everything the providers post or fetch goes
 * through it to the API process. Signatures are over the public URL, so a replay is as valid as
 * the original.
 */
export class WebhookProxy {
  mode: WebhookMode = { kind: 'pass' };
  readonly counts = { forwarded: 0, replayed: 0, late: 0, failed: 0 };
  /** Replays and late posts not yet made. */
  pending = 0;
  private seq = 0;

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
    private target: string,
  ) {}

  static async start(): Promise<WebhookProxy> {
    const ref: { proxy?: WebhookProxy } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void (ref.proxy as WebhookProxy).handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new WebhookProxy(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      '',
    );
    ref.proxy = proxy;
    return proxy;
  }

  /** Where the API listens. */
  setTarget(target: string): void {
    this.target = target;
  }

  private picked(ratio: number): boolean {
    const n = ++this.seq;
    return Math.floor(n * ratio) !== Math.floor((n - 1) * ratio);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) {
    const mode = this.mode;
    const isProviderPost = req.method === 'POST' && (req.url ?? '').startsWith('/webhooks/');
    if (mode.kind === 'replay' && isProviderPost) {
      const text = body.toString('utf8');
      if (NOT_FINAL.test(text) && this.picked(mode.lateRatio)) {
        this.counts.late++;
        this.later(req, body, mode.maxDelayMs);
        res.writeHead(200, { 'Content-Type': 'text/xml' });
        res.end('<Response/>');
        return;
      }
      if (this.picked(mode.replayRatio)) {
        this.counts.replayed++;
        this.later(req, body, mode.maxDelayMs);
      }
    }
    try {
      const r = await this.forward(req, body);
      this.counts.forwarded++;
      res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'text/plain' });
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch {
      this.counts.failed++;
      res.writeHead(502);
      res.end();
    }
  }

  private later(req: http.IncomingMessage, body: Buffer, maxDelayMs: number): void {
    this.pending++;
    const copy = { method: req.method, url: req.url, headers: { ...req.headers } };
    const delay = 200 + ((this.seq * 7919) % Math.max(1, maxDelayMs));
    setTimeout(() => {
      this.forward(copy as http.IncomingMessage, body)
        .then((r) => r.arrayBuffer())
        .catch(() => {
          this.counts.failed++;
        })
        .finally(() => this.pending--);
    }, delay).unref();
  }

  private forward(req: Pick<http.IncomingMessage, 'method' | 'url' | 'headers'>, body: Buffer) {
    const headers = { ...req.headers } as Record<string, string>;
    delete headers.host;
    delete headers.connection;
    delete headers['content-length'];
    return fetch(`${this.target}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      redirect: 'manual',
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
