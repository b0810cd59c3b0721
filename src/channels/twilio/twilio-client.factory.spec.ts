import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { BaseUrlRequestClient, createTwilioClient } from './twilio-client.factory';

const ACCOUNT_SID = `AC${'a'.repeat(32)}`;
const AUTH_TOKEN = 'token-123';

interface Seen {
  method?: string;
  url?: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

describe('createTwilioClient', () => {
  let server: http.Server;
  let base: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            sid: `SM${'1'.repeat(32)}`,
            status: 'queued',
            to: '+8613800000000',
            num_segments: '1',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('sends the real SDK request (path, basic auth, form body) to apiBaseUrl', async () => {
    const client = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      apiBaseUrl: base,
    });
    const message = await client.messages.create({
      to: '+8613800000000',
      from: '+8610690000',
      body: '预警 回复1',
      statusCallback: 'http://gw.local/twilio/sms/status',
    });
    expect(message.sid).toBe(`SM${'1'.repeat(32)}`);
    expect(message.numSegments).toBe('1');
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(seen[0].authorization).toBe(
      `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
    );
    expect(seen[0].contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(seen[0].body))).toEqual({
      To: '+8613800000000',
      From: '+8610690000',
      Body: '预警 回复1',
      StatusCallback: 'http://gw.local/twilio/sms/status',
    });
  });

  it('keeps a path prefix of apiBaseUrl and the query string', async () => {
    const client = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      apiBaseUrl: `${base}/twilio/`,
    });
    await client.calls.list({ to: '+8613800000000', limit: 1 }).catch(() => undefined);
    expect(seen[0].method).toBe('GET');
    expect(seen[0].url).toMatch(
      new RegExp(`^/twilio/2010-04-01/Accounts/${ACCOUNT_SID}/Calls\\.json\\?`),
    );
    expect(seen[0].url).toContain('To=%2B8613800000000');
  });

  it('re-bases every Twilio host, including region and edge hosts, and leaves others alone', () => {
    const rc = new BaseUrlRequestClient('http://127.0.0.1:9999/x');
    expect(rc.rebase('https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?a=1')).toBe(
      'http://127.0.0.1:9999/x/2010-04-01/Accounts/AC1/Calls.json?a=1',
    );
    expect(rc.rebase('https://api.sydney.au1.twilio.com/2010-04-01/A.json')).toBe(
      'http://127.0.0.1:9999/x/2010-04-01/A.json',
    );
    expect(rc.rebase('https://example.com/a')).toBe('https://example.com/a');
    expect(() => new BaseUrlRequestClient('ftp://x')).toThrow(/http/);
  });

  it("over plain HTTP, keeps the SDK's own socket limit: at most 20 requests at the provider at once", async () => {
    // A provider that holds every request until 30 have arrived or the test lets them go.
    let open = 0;
    let most = 0;
    const waiting: http.ServerResponse[] = [];
    const slow = http.createServer((req, res) => {
      open++;
      most = Math.max(most, open);
      req.resume();
      req.on('end', () => waiting.push(res));
      res.on('finish', () => open--);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', () => resolve()));
    const client = createTwilioClient({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      apiBaseUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
    });
    const sends = Array.from({ length: 30 }, (_, i) =>
      client.messages.create({
        to: `+86138000000${String(i).padStart(2, '0')}`,
        from: '+8610690000',
        body: 'x',
      }),
    );
    // Before: Node's global agent opened a socket for each of the 30 at once.
    for (let i = 0; i < 50 && waiting.length < 20; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(waiting).toHaveLength(20);
    expect(most).toBe(20);
    // Answered, the rest go out on the same sockets: every message is sent.
    const answer = () => {
      for (const res of waiting.splice(0)) {
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ sid: `SM${'2'.repeat(32)}`, status: 'queued' }));
      }
    };
    answer();
    const timer = setInterval(answer, 10);
    try {
      expect(await Promise.all(sends)).toHaveLength(30);
    } finally {
      clearInterval(timer);
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
    expect(most).toBe(20);
  });

  it('without apiBaseUrl, uses the SDK default HTTP client (Twilio itself)', () => {
    const client = createTwilioClient({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    expect(client.httpClient).toBeInstanceOf(twilio.RequestClient);
    expect(client.httpClient).not.toBeInstanceOf(BaseUrlRequestClient);
    expect(client.api.baseUrl).toBe('https://api.twilio.com');
  });
});
