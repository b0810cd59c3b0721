import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of a provider that fails the first `failures` requests whose path
 * matches with the given status (a provider having a bad minute), and forwards everything else.
 * With `responseDelayMs`, the provider's answers to matching requests are held that long (a slow
 * API response, which its own callbacks may overtake). With `requestDelayMs`, matching POSTs are
 * held that long before they are forwarded (a slow network on the way in: the provider has not
 * got the message yet while the sender waits). With `refusing`, matching requests are refused for
 * as long as it is set (callbacks that never reach the gateway).
 */
export class FlakyProxy {
  hits = 0;
  failed = 0;
  responseDelayMs = 0;
  requestDelayMs = 0;
  /** Matching requests received and not yet answered. */
  inFlight = 0;
  /** While true, every matching request is refused with the status (none forwarded). */
  refusing = false;

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
  ) {}

  static async start(
    target: string,
    match: RegExp,
    failures: number,
    status = 503,
  ): Promise<FlakyProxy> {
    const ref: { proxy?: FlakyProxy } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const self = ref.proxy as FlakyProxy;
        const matched = match.test(req.url ?? '');
        if (matched) {
          self.hits++;
          if (self.refusing || self.failed < failures) {
            self.failed++;
            res.writeHead(status, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ code: 20500, message: 'Service unavailable', status }));
            return;
          }
        }
        const headers = { ...req.headers };
        delete headers.host;
        const held = matched && req.method === 'POST' ? self.requestDelayMs : 0;
        if (matched) self.inFlight++;
        void (async () => {
          try {
            if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
            const r = await fetch(`${target}${req.url}`, {
              method: req.method,
              headers: headers as Record<string, string>,
              body: chunks.length ? Buffer.concat(chunks) : undefined,
            });
            const body = Buffer.from(await r.arrayBuffer());
            if (matched && self.responseDelayMs > 0)
              await new Promise((resolve) => setTimeout(resolve, self.responseDelayMs));
            res.writeHead(r.status, {
              'Content-Type': r.headers.get('content-type') ?? 'application/json',
            });
            res.end(body);
          } catch {
            res.writeHead(502);
            res.end();
          } finally {
            if (matched) self.inFlight--;
          }
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FlakyProxy(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    );
    ref.proxy = proxy;
    return proxy;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
