import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Twilio-like REST server that answers at once: `POST …/Messages.json` and `…/Calls.json` get a
 * 201 with a new SID, lists are empty, and nothing ever calls back. It counts the requests per
 * `To` number so that a benchmark can check nobody was contacted twice, and keeps the calls it
 * placed (SID and TwiML URL, in order) for the load generator: `GET /_bench/calls?from=N` gives
 * those from the N-th on, as Twilio posts a Gather action only for a call it placed.
 */
export interface TwilioStub {
  /** http://127.0.0.1:PORT, for TWILIO_API_BASE_URL or the SDK's base URL. */
  url: string;
  /** Requests per `To` number, per kind. */
  sent: { sms: Map<string, number>; voice: Map<string, number> };
  totals(): { sms: number; voice: number };
  close(): Promise<void>;
}

const sid = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;

export async function startTwilioStub(): Promise<TwilioStub> {
  const sent = { sms: new Map<string, number>(), voice: new Map<string, number>() };
  const placed: { sid: string; url: string }[] = [];
  const count = (m: Map<string, number>, to: string) => m.set(to, (m.get(to) ?? 0) + 1);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const to = form.get('To') ?? '';
      const now = new Date().toUTCString();
      const reply = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (req.method === 'POST' && /\/Messages\.json$/.test(url)) {
        count(sent.sms, to);
        return reply(201, {
          sid: sid('SM'),
          status: 'queued',
          to,
          from: form.get('From'),
          body: form.get('Body'),
          num_segments: '1',
          direction: 'outbound-api',
          date_created: now,
          date_updated: now,
        });
      }
      if (req.method === 'POST' && /\/Calls\.json$/.test(url)) {
        count(sent.voice, to);
        const callSid = sid('CA');
        placed.push({ sid: callSid, url: form.get('Url') ?? '' });
        return reply(201, {
          sid: callSid,
          status: 'queued',
          to,
          from: form.get('From'),
          direction: 'outbound-api',
          date_created: now,
          date_updated: now,
        });
      }
      if (req.method === 'GET' && url.startsWith('/_bench/calls')) {
        const from = Number(new URL(url, 'http://stub').searchParams.get('from') ?? 0) || 0;
        return reply(200, { calls: placed.slice(from), next: placed.length });
      }
      if (req.method === 'GET' && /\/Messages\.json/.test(url))
        return reply(200, { messages: [], end: 0, page: 0, page_size: 50, start: 0 });
      if (req.method === 'GET' && /\/Calls\.json/.test(url))
        return reply(200, { calls: [], end: 0, page: 0, page_size: 50, start: 0 });
      // A fetch of one resource: still queued.
      const one = /\/(Messages|Calls)\/([A-Z]{2}[0-9a-f]+)\.json/.exec(url);
      if (req.method === 'GET' && one) return reply(200, { sid: one[2], status: 'queued' });
      reply(404, { code: 20404, message: 'not found', status: 404 });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    totals: () => ({ sms: sum(sent.sms), voice: sum(sent.voice) }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
