import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A tiny HTTP server that answers every request with what `answer` says (a provider failing with
 * 500, refusing with 400, throttling with 429…) and counts the requests.
 */
export class StubProvider {
  hits = 0;
  readonly paths: string[] = [];
  /** Answers for the next requests, in order; then `answer` again. */
  readonly next: StubAnswer[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly baseUrl: string,
    public answer: StubAnswer,
  ) {}

  static async start(answer: StubAnswer): Promise<StubProvider> {
    const ref: { current?: StubProvider } = {};
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const self = ref.current;
        if (!self) return;
        self.hits++;
        self.paths.push(req.url ?? '');
        const { status, body, headers } = self.next.shift() ?? self.answer;
        const text =
          body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, {
          'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
          ...(headers ?? {}),
        });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    ref.current = new StubProvider(server, `http://127.0.0.1:${port}`, answer);
    return ref.current;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
