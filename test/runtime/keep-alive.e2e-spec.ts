import * as net from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app';

/**
 * An idle keep-alive connection is left for the client to close. Node closes one after 5 s idle by
 * default: a provider (or a proxy) sending its next webhook on the connection at that moment gets
 * a connection reset, and the webhook (a keypress) is lost. The answers bench saw such resets.
 */
describe('HTTP keep-alive: the gateway does not close an idle connection before its clients do', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  /** A raw connection: its responses as they come, and whether the server closed it. */
  function connect(port: number) {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let closedByServer = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => (closedByServer = true));
    // Status lines (a response follows the body before it directly, not on a line of its own).
    const responses = () => received.match(/HTTP\/1\.1 \d{3}/g) ?? [];
    return {
      get closedByServer() {
        return closedByServer;
      },
      responses,
      /** Sends a GET /health and waits for its response (the n-th on this connection). */
      async get(n: number): Promise<string> {
        socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
        const until = Date.now() + 10_000;
        while (responses().length < n && !closedByServer && Date.now() < until)
          await new Promise((r) => setTimeout(r, 20));
        return responses()[n - 1] ?? `(no response; closed by the server: ${closedByServer})`;
      },
      close: () => socket.destroy(),
    };
  }

  it('keeps an idle connection open past Node’s default 5 s, and answers the next request on it', async () => {
    const conn = connect(Number(new URL(t.baseUrl).port));
    try {
      expect(await conn.get(1)).toMatch(/^HTTP\/1\.1 (200|503)/);
      await new Promise((r) => setTimeout(r, 6_500));
      expect(conn.closedByServer).toBe(false);
      expect(await conn.get(2)).toMatch(/^HTTP\/1\.1 (200|503)/);
    } finally {
      conn.close();
    }
  });
});
