import * as http from 'node:http';
import twilio from 'twilio';
import type { DataSource } from 'typeorm';
import type { TestApp } from '../helpers/app';

/** Twilio and the broadcast platform configured (no sandbox): their webhooks can be signed. */
export const PROVIDER_ENV = {
  SANDBOX: 'off',
  TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'security-test-twilio-token',
  TWILIO_FROM_NUMBER: '+15005550006',
  // Nothing listens there: no test here sends anything.
  TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
  BROADCAST_API_URL: 'http://127.0.0.1:9',
  BROADCAST_SECRET: 'security-test-broadcast-secret',
};

/** A Twilio webhook POST as Twilio signs it (form body, signature over URL and parameters). */
export function signedTwilio(t: TestApp, path: string, params: Record<string, string>) {
  const signature = twilio.getExpectedTwilioSignature(
    PROVIDER_ENV.TWILIO_AUTH_TOKEN,
    `${t.baseUrl}${path}`,
    params,
  );
  return t.http().post(path).type('form').set('X-Twilio-Signature', signature).send(params);
}

/**
 * Row counts of every table of the gateway, except those that change on their own: counters of
 * the provider rate limits, the migrations list, and the audit sealer's blocks and checkpoints
 * (it seals events already written, such as the test tokens' creation, in the background;
 * audit_events itself is counted).
 */
export async function tableCounts(db: DataSource): Promise<Record<string, number>> {
  const tables: { name: string }[] = await db.query(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'
      AND tablename NOT IN ('channel_rate_limits', 'migrations', 'typeorm_metadata',
                            'audit_blocks', 'audit_checkpoints') ORDER BY 1`,
  );
  const out: Record<string, number> = {};
  for (const { name } of tables) {
    const [row] = await db.query(`SELECT count(*)::int AS n FROM "${name}"`);
    out[name] = row.n;
  }
  return out;
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

/**
 * A request that declares `declaredLength` bytes of body but sends only `send` of them, then
 * waits for the answer: what an over-size upload looks like before it is read.
 */
export function rawUpload(
  baseUrl: string,
  opts: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    declaredLength: number;
    send: string;
  },
): Promise<RawAnswer> {
  const url = new URL(opts.path, baseUrl);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? 'POST',
        headers: { ...opts.headers, 'Content-Length': String(opts.declaredLength) },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            ms: Date.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    // The server may close the connection once it has answered: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!['EPIPE', 'ECONNRESET'].includes(err.code ?? '')) reject(err);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.write(opts.send);
  });
}
