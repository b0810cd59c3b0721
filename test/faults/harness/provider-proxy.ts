import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the provider (Twilio's REST API, behind this proxy) behaves right now. */
export type ProviderMode =
  | { kind: 'pass' }
  /** `ratio` of requests answered `status` with a Twilio-style error body; the rest forwarded. */
  | { kind: 'fail'; status: number; ratio: number }
  /**
   * No answer: the request is held `holdMs` and its connection then cut (past the client's own
   * timeout when holdMs is long enough). With `forwardRatio`, that share of the requests reaches
   * the provider first (accepted, but the answer never comes back).
   */
  | { kind: 'hang'; holdMs: number; forwardRatio: number };

/**
 * A fault-injecting HTTP proxy between the gateway and the Twilio-like server. Counts what it did,
 * so a scenario can say how many requests were failed, held or forwarded.
 */
export class ProviderFaultProxy {
  mode: ProviderMode = { kind: 'pass' };
  readonly counts = { forwarded: 0, failed: 0, hung: 0, hungAfterForward: 0 };
  private seq = 0;
  private readonly held = new Set<http.ServerResponse>();

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
  ) {}

  static async start(target: string): Promise<ProviderFaultProxy> {
    const ref: { proxy?: ProviderFaultProxy } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void (ref.proxy as ProviderFaultProxy).handle(target, req, res, chunks));
    });
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new ProviderFaultProxy(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    );
    ref.proxy = proxy;
    return proxy;
  }

  /** Deterministic "random" share: every n-th request by its sequence number. */
  private picked(ratio: number): boolean {
    const n = ++this.seq;
    return Math.floor(n * ratio) !== Math.floor((n - 1) * ratio);
  }

  private async handle(
    target: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    chunks: Buffer[],
  ): Promise<void> {
    const mode = this.mode;
    if (mode.kind === 'fail' && this.picked(mode.ratio)) {
      this.counts.failed++;
      res.writeHead(mode.status, { 'Content-Type': 'application/json' });
      const code = mode.status === 429 ? 20429 : 20500;
      res.end(
        JSON.stringify({
          code,
          message: mode.status === 429 ? 'Too Many Requests' : 'Internal Server Error',
          more_info: `https://www.twilio.com/docs/errors/${code}`,
          status: mode.status,
        }),
      );
      return;
    }
    if (mode.kind === 'hang') {
      const forward = this.picked(mode.forwardRatio);
      this.counts.hung++;
      if (forward) {
        this.counts.hungAfterForward++;
        await this.forward(target, req, chunks).catch(() => undefined);
      }
      this.held.add(res);
      setTimeout(() => {
        this.held.delete(res);
        res.socket?.resetAndDestroy();
      }, mode.holdMs).unref();
      return;
    }
    try {
      const r = await this.forward(target, req, chunks);
      this.counts.forwarded++;
      res.writeHead(r.status, {
        'Content-Type': r.headers.get('content-type') ?? 'application/json',
      });
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch {
      res.writeHead(502);
      res.end();
    }
  }

  private forward(target: string, req: http.IncomingMessage, chunks: Buffer[]): Promise<Response> {
    const headers = { ...req.headers } as Record<string, string>;
    delete headers.host;
    delete headers.connection;
    delete headers['content-length'];
    return fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
  }

  close(): Promise<void> {
    for (const res of this.held) res.socket?.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
