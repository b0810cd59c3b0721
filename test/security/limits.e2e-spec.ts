import * as http from 'node:http';
import { startTestApp, type TestApp } from '../helpers/app';
import { PROVIDER_ENV, rawUpload, signedTwilio } from './support';

const FAILURES = 20;
const PUBLIC = 60;

/**
 * Issue 11, items 7 and 8: body limits per route decided before the body is read (413 in the
 * JSON error shape), per-IP limits on failed authentication and public pages (429 with
 * Retry-After) that never throttle valid tokens or signed webhooks, and the console's CSP.
 */
describe('body limits, rate limits and the console CSP', () => {
  let t: TestApp;
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  // Each scenario comes from its own client address (X-Forwarded-For from the loopback proxy).
  const from = (ip: string) => ({ 'X-Forwarded-For': ip });

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        ...PROVIDER_ENV,
        TRUST_PROXY: 'loopback',
        BODY_LIMIT: '1mb',
        IMPORT_BODY_LIMIT: '200mb',
        RATE_LIMIT_WINDOW_SECONDS: '60',
        RATE_LIMIT_FAILURES: String(FAILURES),
        RATE_LIMIT_PUBLIC: String(PUBLIC),
      },
    });
  });
  afterAll(() => t.close());

  describe('body limits', () => {
    const expect413 = (res: { status: number; body: string; ms: number }) => {
      expect(res.status).toBe(413);
      const body = JSON.parse(res.body);
      expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(body.error.message).toMatch(/请求体过大/);
      expect(body.error.fields).toEqual([expect.objectContaining({ field: 'body' })]);
      // Answered from the declared length: the client sends only a first piece of the body it
      // declared and never the rest, so an answer at all means the server did not wait to read it.
    };

    it('answers 413 at once to an unauthenticated 150 MB import, without reading it', async () => {
      const rss = process.memoryUsage().rss;
      const res = await rawUpload(t.baseUrl, {
        path: '/v1/directory/imports/people',
        headers: { 'Content-Type': 'text/csv', ...from('10.1.0.1') },
        declaredLength: 150_000_000,
        send: 'external_id,name\n'.padEnd(64 * 1024, 'x'),
      });
      expect413(res);
      expect(res.headers.connection).toBe('close');
      expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 * 1024);
    });

    it('answers 413 to a large body on any route, and on the import route for a bad token or role', async () => {
      const cases: [string, Record<string, string>][] = [
        ['/v1/warnings', { 'Content-Type': 'application/json' }],
        ['/v1/warnings/cap', { 'Content-Type': 'application/xml' }],
        ['/webhooks/twilio/sms', { 'Content-Type': 'application/x-www-form-urlencoded' }],
        ['/c/abc', { 'Content-Type': 'application/x-www-form-urlencoded' }],
        [
          '/v1/directory/imports/people',
          { 'Content-Type': 'text/csv', Authorization: 'Bearer wgt_not-a-token' },
        ],
        [
          '/v1/directory/imports/people',
          { 'Content-Type': 'text/csv', ...bearer(t.tokens.auditor) },
        ],
        [
          '/v1/warnings/cap',
          { 'Content-Type': 'application/xml', ...bearer(t.tokens.admin) }, // CAP is duty_officer's
        ],
      ];
      for (const [path, headers] of cases) {
        const res = await rawUpload(t.baseUrl, {
          path,
          headers: { ...headers, ...from('10.1.0.2') },
          declaredLength: 150_000_000,
          send: 'x'.repeat(1024),
        });
        expect({ path, status: res.status }).toEqual({ path, status: 413 });
        expect413(res);
      }
    });

    it('answers 413 to a chunked body as soon as it passes the limit', async () => {
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          new URL('/v1/warnings', t.baseUrl),
          {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...from('10.1.0.3') },
            agent: false,
          },
          (r) => {
            let body = '';
            r.on('data', (c: Buffer) => (body += c.toString()));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
          },
        );
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (!['EPIPE', 'ECONNRESET'].includes(err.code ?? '')) reject(err);
        });
        // 1.5 MB of a body that would go on for ever; the request is never ended.
        req.write('{"description":"');
        for (let i = 0; i < 24; i++) req.write('x'.repeat(64 * 1024));
      });
      expect(res.status).toBe(413);
      // The request was never ended: an answer means it came as soon as the limit was passed.
      expect(JSON.parse(res.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('reads a large import for an admin token (the route and role that need it)', async () => {
      const rows = Array.from({ length: 40_000 }, (_, i) => `P${i},${'x'.repeat(30)},,,`).join(
        '\n',
      );
      const csv = `external_id,name,role,division_code,grid_code\n${rows}\n`;
      expect(csv.length).toBeGreaterThan(1024 * 1024);
      const res = await t
        .http()
        .post('/v1/directory/imports/people')
        .set(bearer(t.tokens.admin))
        .set(from('10.1.0.4'))
        .set('Content-Type', 'text/csv')
        .send(csv);
      // Read and refused row by row (the rows are incomplete): not a 413.
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('IMPORT_REJECTED');
    });
  });

  describe('rate limits', () => {
    const expect429 = (res: { status: number; headers: Record<string, string>; body: unknown }) => {
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = res.body as { error: { code: string; message: string; retryAfter: number } };
      expect(body.error.code).toBe('RATE_LIMITED');
      expect(body.error.message).toMatch(/请求过于频繁/);
      expect(body.error.retryAfter).toBe(retryAfter);
    };

    it('answers 429 with Retry-After once an IP has sent too many forged confirmation links', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < FAILURES; i++) {
        const res = await t.http().get(`/c/forged${i}.token`).set(from('10.2.0.1'));
        statuses.push(res.status);
      }
      expect(new Set(statuses)).toEqual(new Set([404]));
      const blocked = await t
        .http()
        .post('/c/forged.token')
        .set(from('10.2.0.1'))
        .type('form')
        .send({ answer: 'confirm' });
      expect429(blocked);
      // A burst of 300 more: every one refused, quickly.
      const burst = await Promise.all(
        Array.from({ length: 300 }, (_, i) => t.http().get(`/c/more${i}.x`).set(from('10.2.0.1'))),
      );
      expect(burst.filter((r) => r.status !== 429)).toEqual([]);
      // Another client is not affected.
      expect((await t.http().get('/c/forged.token').set(from('10.2.0.2'))).status).toBe(404);
    });

    it('answers 429 to random bearer tokens past the limit, but not to valid tokens', async () => {
      for (let i = 0; i < FAILURES; i++) {
        const res = await t
          .http()
          .get('/v1/warnings')
          .set(bearer(`wgt_random${i}`))
          .set(from('10.3.0.1'));
        expect(res.status).toBe(401);
      }
      expect429(await t.http().get('/v1/warnings').set(bearer('wgt_random')).set(from('10.3.0.1')));
      expect429(await t.http().get('/v1/tokens').set(from('10.3.0.1')));
      // Valid tokens from another address: never throttled, however many.
      const valid = await Promise.all(
        Array.from({ length: 150 }, () =>
          t.http().get('/v1/warnings').set(bearer(t.tokens.auditor)).set(from('10.3.0.2')),
        ),
      );
      expect(valid.filter((r) => r.status !== 200)).toEqual([]);
    });

    it('throttles unsigned webhooks per IP; correctly signed ones are never throttled', async () => {
      for (let i = 0; i < FAILURES; i++) {
        const res = await t
          .http()
          .post('/webhooks/twilio/sms')
          .set(from('10.4.0.1'))
          .set('X-Twilio-Signature', i % 2 ? 'forged' : '')
          .type('form')
          .send({ From: '+8613800000000', To: '+15005550006', Body: '1', MessageSid: `SM${i}` });
        expect(res.status).toBe(403);
      }
      expect429(
        await t
          .http()
          .post('/webhooks/twilio/sms')
          .set(from('10.4.0.1'))
          .type('form')
          .send({ Body: '1' }),
      );
      // The forged flood on the webhooks locks that address out of the webhooks only.
      const api = await t
        .http()
        .get('/v1/warnings')
        .set(bearer(t.tokens.auditor))
        .set(from('10.4.0.1'));
      expect(api.status).toBe(200);
      // A provider's signed callbacks, several times the limit, all go through.
      const signed = [];
      for (let i = 0; i < FAILURES * 5; i++) {
        signed.push(
          await signedTwilio(t, '/webhooks/twilio/sms/status', {
            MessageSid: `SM${String(i).padStart(32, '0')}`,
            MessageStatus: 'delivered',
          }).set(from('10.4.0.2')),
        );
      }
      expect(new Set(signed.map((r) => r.status))).toEqual(new Set([204]));
    });

    it('limits the public pages per IP', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < PUBLIC + 5; i++) {
        statuses.push((await t.http().get('/health').set(from('10.5.0.1'))).status);
      }
      expect(statuses.slice(0, PUBLIC).every((s) => s === 200)).toBe(true);
      const last = await t.http().get('/console').set(from('10.5.0.1'));
      expect429(last);
      expect((await t.http().get('/health').set(from('10.5.0.2'))).status).toBe(200);
    });

    it('counts in the shared store: a restarted (or another) API process goes on from the same count', async () => {
      const half = FAILURES / 2;
      for (let i = 0; i < half; i++) {
        const res = await t
          .http()
          .get('/v1/warnings')
          .set(bearer(`wgt_a${i}`))
          .set(from('10.7.0.1'));
        expect(res.status).toBe(401);
      }
      // A new process: nothing of the first one's memory is left.
      await t.restart();
      for (let i = 0; i < FAILURES - half; i++) {
        const res = await t
          .http()
          .get('/v1/warnings')
          .set(bearer(`wgt_b${i}`))
          .set(from('10.7.0.1'));
        expect(res.status).toBe(401);
      }
      expect429(await t.http().get('/v1/warnings').set(bearer('wgt_c')).set(from('10.7.0.1')));
      expect(
        (await t.http().get('/v1/warnings').set(bearer(t.tokens.auditor)).set(from('10.7.0.2')))
          .status,
      ).toBe(200);
    });
  });

  describe('console CSP', () => {
    it('serves the console with a strict Content-Security-Policy its page satisfies', async () => {
      const page = await t.http().get('/console').set(from('10.6.0.1'));
      expect(page.status).toBe(200);
      const csp = page.headers['content-security-policy'];
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      // Nothing inline that the policy would block: every script is a file, no style attribute.
      const html = page.text;
      for (const tag of html.match(/<script\b[^>]*>/g) ?? [])
        expect(tag).toMatch(/\ssrc="\/console\//);
      expect(html).not.toMatch(/<script\b[^>]*>[^<\s]/);
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
      for (const asset of ['console.js', 'console.css']) {
        const res = await t.http().get(`/console/assets/${asset}`).set(from('10.6.0.1'));
        expect(res.status).toBe(200);
        expect(res.headers['content-security-policy']).toBe(csp);
      }
      // The API docs (Swagger UI, inline scripts) keep working without it.
      const docs = await t.http().get('/docs-json').set(from('10.6.0.1'));
      expect(docs.status).toBe(200);
      expect(docs.headers['content-security-policy']).toBeUndefined();
    });
  });
});
