/**
 * The same-run limits the gateway is compared with: what the same amount of work costs when done
 * directly, with nothing of the gateway's in between.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import type { DataSource } from 'typeorm';
import { createTwilioClient } from '../src/channels/twilio/twilio-client.factory';
import { redisOptionsFromUrl } from '../src/runtime/queue-backend';
import type { ProviderKind } from './gateway-harness';
import { ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER } from './gateway-harness';

export interface RowsLimit {
  /** How the rows were loaded: COPY from a server-side file, or INSERT … SELECT when COPY to a file is not allowed. */
  method: 'copy' | 'insert-select';
  deliveries: number;
  attempts: number;
  ms: number;
}

/**
 * The warning's own delivery and attempt rows, loaded again into copies of their tables (same
 * columns, defaults, indexes and constraints but the foreign keys): COPY from a file the server
 * wrote with COPY … TO, timed for the load only.
 */
export async function copyRowsLimit(ds: DataSource, warningId: string): Promise<RowsLimit> {
  const tag = randomBytes(3).toString('hex');
  const tables = [
    { real: 'deliveries', copy: `limit_deliveries_${tag}` },
    { real: 'contact_attempts', copy: `limit_attempts_${tag}` },
  ];
  for (const t of tables) await ds.query(`CREATE TABLE ${t.copy} (LIKE ${t.real} INCLUDING ALL)`);
  const counts: number[] = [];
  let method: RowsLimit['method'] = 'copy';
  const files = tables.map((t) => `/tmp/${t.copy}.bin`);
  try {
    for (let i = 0; i < tables.length; i++) {
      await ds.query(
        `COPY (SELECT * FROM ${tables[i].real} WHERE warning_id = '${warningId}') TO '${files[i]}' WITH (FORMAT binary)`,
      );
    }
  } catch {
    method = 'insert-select';
  }
  const t0 = performance.now();
  await ds.transaction(async (m) => {
    for (let i = 0; i < tables.length; i++) {
      const r =
        method === 'copy'
          ? await m.query(`COPY ${tables[i].copy} FROM '${files[i]}' WITH (FORMAT binary)`)
          : await m.query(
              `INSERT INTO ${tables[i].copy} SELECT * FROM ${tables[i].real} WHERE warning_id = $1`,
              [warningId],
            );
      counts.push(Array.isArray(r) ? Number(r[1] ?? 0) : Number(r ?? 0));
    }
  });
  const ms = performance.now() - t0;
  const [{ d }] = await ds.query(`SELECT count(*)::int AS d FROM ${tables[0].copy}`);
  const [{ a }] = await ds.query(`SELECT count(*)::int AS a FROM ${tables[1].copy}`);
  for (const t of tables) await ds.query(`DROP TABLE ${t.copy}`);
  // The server wrote the files; on this machine they can be removed from here.
  for (const f of files) rmSync(f, { force: true });
  return { method, deliveries: d, attempts: a, ms };
}

export interface JobsLimit {
  jobs: { sms: number; voice: number };
  addBulkMs: number;
  processMs: number;
  /** Requests the jobs made to the Twilio-like server (http) or 0 (null). */
  requests: number;
}

/**
 * As many BullMQ jobs as the gateway enqueued, added with addBulk (in batches of 1000, priority
 * and job ids as the gateway does) on two queues (SMS and voice), then processed by one worker per
 * queue at the gateway's concurrency; each job does nothing (null) or one twilio-SDK
 * messages.create / calls.create to the Twilio-like server that answers at once (http).
 */
export async function jobsLimit(o: {
  redisUrl: string;
  prefix: string;
  sms: number;
  voice: number;
  smsConcurrency: number;
  voiceConcurrency: number;
  provider: ProviderKind;
  stubUrl: string;
}): Promise<JobsLimit> {
  const connection = redisOptionsFromUrl(o.redisUrl);
  const prefix = `${o.prefix.replace(/}$/, '')}-limit}`;
  const client = createTwilioClient({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    apiBaseUrl: o.stubUrl,
    timeoutMs: 15_000,
  });
  let requests = 0;
  const queues = [
    { name: 'limit-sms', n: o.sms, concurrency: o.smsConcurrency, kind: 'sms' as const },
    { name: 'limit-voice', n: o.voice, concurrency: o.voiceConcurrency, kind: 'voice' as const },
  ].filter((q) => q.n > 0);
  const handles = queues.map((q) => ({ ...q, queue: new Queue(q.name, { connection, prefix }) }));
  try {
    const t0 = performance.now();
    for (const h of handles) {
      for (let i = 0; i < h.n; i += 1000) {
        const ids = Array.from({ length: Math.min(1000, h.n - i) }, (_, k) => i + k);
        await h.queue.addBulk(
          ids.map((k) => ({
            name: 'attempt',
            data: { attemptId: `${h.kind}-${k}` },
            opts: { jobId: `attempt-${h.kind}-${k}`, priority: 1, removeOnComplete: true },
          })),
        );
      }
    }
    const addBulkMs = performance.now() - t0;
    const t1 = performance.now();
    await Promise.all(
      handles.map(
        (h) =>
          new Promise<void>((resolve, reject) => {
            let done = 0;
            const worker = new Worker(
              h.name,
              async (job) => {
                if (o.provider === 'http') {
                  const to = `+86139${String(job.data.attemptId.split('-')[1]).padStart(8, '0')}`;
                  requests++;
                  if (h.kind === 'sms')
                    await client.messages.create({
                      to,
                      from: FROM_NUMBER,
                      body: '【应急预警】bench',
                    });
                  else
                    await client.calls.create({ to, from: FROM_NUMBER, url: 'http://127.0.0.1/x' });
                }
              },
              { connection, prefix, concurrency: h.concurrency },
            );
            worker.on('completed', () => {
              if (++done === h.n) void worker.close().then(resolve, reject);
            });
            worker.on('failed', (_job, err) => reject(err));
          }),
      ),
    );
    const processMs = performance.now() - t1;
    return { jobs: { sms: o.sms, voice: o.voice }, addBulkMs, processMs, requests };
  } finally {
    for (const h of handles) {
      await h.queue.obliterate({ force: true }).catch(() => undefined);
      await h.queue.close();
    }
  }
}

/** A no-op HTTP server: reads the body and answers an empty TwiML at once. */
export async function startNoopServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': 11 });
      res.end('<Response/>');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
