/**
 * 叫应 timer lateness: how late step timers fire when many fall due together (every responsible
 * person of a county-wide warning reaches the end of the same 5-minute step at once), on the
 * escalation queue as the gateway runs it: BullMQ delayed jobs with deterministic ids, on Redis,
 * consumed by workers of the gateway's escalation concurrency (10 per process).
 *
 * The handler's own work (a compare-and-set on the delivery and, for some, the next contacts) is
 * stood in for by `--work-ms` of waiting, so that the number measured is the queue's: the time
 * from a timer's due instant to its handler starting.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { type Job, Queue, Worker } from 'bullmq';
import { redisOptionsFromUrl } from '../src/runtime/queue-backend';
import { startLocalRedis } from '../src/runtime/local-redis';

export interface TimersBenchOptions {
  timers: number;
  workers: number;
  concurrency: number;
  workMs: number;
  spreadMs: number;
  log: (msg: string) => void;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export async function runTimersBench(o: TimersBenchOptions): Promise<void> {
  let url = process.env.REDIS_URL;
  let stop = async () => undefined as void;
  if (!url) {
    const port = Number(process.env.BENCH_REDIS_PORT ?? 54340);
    const redis = await startLocalRedis({
      dataDir: path.resolve('.data/bench'),
      port,
      log: o.log,
      persistent: false,
    });
    if (!redis)
      throw new Error('no REDIS_URL and no redis-server on PATH (apt-get install redis-server)');
    url = redis.url;
    stop = () => redis.stop();
  }
  const connection = redisOptionsFromUrl(url);
  const prefix = `{bench-${randomBytes(3).toString('hex')}}`;
  const name = 'escalation';
  const queue = new Queue(name, { connection, prefix });
  const lateness: number[] = [];
  let done = 0;
  let finished: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const handler = async (job: Job<{ dueAt: number }>) => {
    lateness.push(Date.now() - job.data.dueAt);
    if (o.workMs > 0) await new Promise((r) => setTimeout(r, o.workMs));
    if (++done === o.timers) finished();
  };
  const workers = Array.from(
    { length: o.workers },
    () =>
      new Worker(name, handler, {
        connection,
        prefix,
        concurrency: o.concurrency,
        removeOnComplete: { count: 0 },
      }),
  );
  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    // Enough lead time to add every timer before the first is due.
    const lead = 3000 + Math.ceil(o.timers / 5);
    const start = Date.now() + lead;
    o.log(
      `timers: ${o.timers} due ${o.spreadMs ? `over ${o.spreadMs} ms` : 'at the same instant'}, ` +
        `${o.workers} worker(s) × concurrency ${o.concurrency}, handler ${o.workMs} ms; adding…`,
    );
    for (let i = 0; i < o.timers; i += 1000) {
      const chunk = Array.from({ length: Math.min(1000, o.timers - i) }, (_, k) => {
        const n = i + k;
        const dueAt = start + (o.spreadMs ? Math.floor((n / o.timers) * o.spreadMs) : 0);
        return {
          name: 'step',
          data: { dueAt },
          opts: {
            jobId: `step-bench-${n}-v1-s1`,
            delay: dueAt - Date.now(),
            attempts: 10,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: true,
          },
        };
      });
      await queue.addBulk(chunk);
    }
    const added = Date.now();
    if (added > start)
      o.log(`warning: adding took longer than the lead time (${added - start} ms)`);
    await allDone;
    const drained = Date.now();
    const sorted = [...lateness].sort((a, b) => a - b);
    const due = start + o.spreadMs;
    o.log(
      [
        `lateness (due → handler start), ms:`,
        `  p50 ${percentile(sorted, 50)}  p90 ${percentile(sorted, 90)}  p99 ${percentile(sorted, 99)}  max ${sorted[sorted.length - 1]}`,
        `  under 1 s: ${((sorted.filter((x) => x < 1000).length / sorted.length) * 100).toFixed(1)} %`,
        `  last timer handled ${drained - due} ms after the last was due; ` +
          `${Math.round((o.timers / Math.max(1, drained - start)) * 1000)} timers/s overall`,
      ].join('\n'),
    );
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await stop();
  }
}
