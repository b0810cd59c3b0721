/**
 * Smoke test of BullMQ 6's PostgreSQL backend for the features the gateway relies on, run with a
 * real Queue / Worker / QueueEvents against the test Postgres (a fresh database). The very same
 * cases run against the test Redis as the reference, so any difference shows up side by side.
 */
import { randomBytes } from 'node:crypto';
import {
  Job,
  Queue,
  QueueEvents,
  Worker,
  type ConnectionOptions,
  type Processor,
  type WorkerOptions,
} from 'bullmq';
import { bullConnectionOptions, type QueueConnection } from '../../src/runtime/queue-backend';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testRedisUrl, uniqueQueuePrefix } from '../helpers/redis';

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

type Backend = QueueConnection['backend'];

describe.each<Backend>(['postgres', 'redis'])('BullMQ on the %s backend', (backend) => {
  let database: TestDatabase | undefined;
  let connection: ConnectionOptions;
  let prefix: string;
  const open: Array<{ close(): Promise<unknown> }> = [];

  beforeAll(async () => {
    if (backend === 'postgres') {
      database = await createTestDatabase('bullmq_pg');
      connection = bullConnectionOptions({ backend: 'postgres', connectionString: database.url });
    } else {
      connection = bullConnectionOptions({ backend: 'redis', url: testRedisUrl() });
    }
    prefix = uniqueQueuePrefix();
  });

  afterEach(async () => {
    // Workers first (they may still be fetching), then events and queues.
    const closing = open.splice(0).reverse();
    for (const item of closing) await item.close();
  });

  afterAll(async () => {
    await database?.drop();
  });

  const queueName = (feature: string) => `${feature}-${randomBytes(3).toString('hex')}`;

  function newQueue(name: string): Queue {
    const queue = new Queue(name, { connection, prefix });
    open.push(queue);
    return queue;
  }

  function newWorker(
    name: string,
    processor: Processor,
    opts: Partial<WorkerOptions> = {},
  ): Worker {
    const worker = new Worker(name, processor, { connection, prefix, ...opts });
    worker.on('error', () => undefined); // surfaced through the assertions instead
    open.push(worker);
    return worker;
  }

  async function newQueueEvents(name: string): Promise<QueueEvents> {
    const events = new QueueEvents(name, { connection, prefix });
    open.push(events);
    await events.waitUntilReady();
    return events;
  }

  it('processes by priority (no priority first, then 1 before 5 before 10)', async () => {
    const name = queueName('priority');
    const queue = newQueue(name);
    await queue.add('p', { n: 'low' }, { priority: 10 });
    await queue.add('p', { n: 'high' }, { priority: 1 });
    await queue.add('p', { n: 'mid' }, { priority: 5 });
    await queue.add('p', { n: 'none' });
    expect(await queue.getJobCounts('prioritized', 'waiting')).toEqual({
      prioritized: 3,
      waiting: 1,
    });

    const order: string[] = [];
    newWorker(name, async (job) => void order.push(job.data.n), { concurrency: 1 });
    await waitFor(() => order.length === 4, 15_000, 'four jobs');
    expect(order).toEqual(['none', 'high', 'mid', 'low']);
  });

  it('runs a delayed job no earlier than its delay, and on time', async () => {
    const name = queueName('delayed');
    const queue = newQueue(name);
    let processedAt = 0;
    newWorker(name, async () => void (processedAt = Date.now()));
    await sleep(300); // the worker is idle and blocked when the delayed job is added
    const addedAt = Date.now();
    const job = await queue.add('d', {}, { delay: 1500 });
    expect(await job.getState()).toBe('delayed');
    expect(await queue.getJobCounts('delayed')).toEqual({ delayed: 1 });

    await waitFor(() => processedAt > 0, 15_000, 'the delayed job');
    expect(processedAt - addedAt).toBeGreaterThanOrEqual(1500 - 20);
    expect(processedAt - addedAt).toBeLessThan(1500 + 1500);
  });

  it('shares one Worker limiter across workers (2 jobs per second in total)', async () => {
    const name = queueName('limiter');
    const queue = newQueue(name);
    await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'l', data: { i } })));
    const starts: number[] = [];
    // processedOn is the claim time, which is what the limiter window counts from.
    const processor: Processor = async (job) => void starts.push(job.processedOn!);
    const limiter = { max: 2, duration: 1000 };
    newWorker(name, processor, { limiter, concurrency: 2 });
    newWorker(name, processor, { limiter, concurrency: 2 });

    await waitFor(() => starts.length === 6, 20_000, 'six rate-limited jobs');
    starts.sort((a, b) => a - b);
    // Per-worker limits would allow 4 jobs per second; a shared one needs three windows.
    expect(starts.filter((t) => t < starts[0] + 950).length).toBeLessThanOrEqual(2);
    expect(starts[5] - starts[0]).toBeGreaterThanOrEqual(2000 - 50);
  });

  it('de-duplicates by deterministic jobId, also after the job completed', async () => {
    const name = queueName('jobid');
    const queue = newQueue(name);
    const id = 'warning-123_person-9';
    const first = await queue.add('x', { v: 1 }, { jobId: id });
    const second = await queue.add('x', { v: 2 }, { jobId: id });
    expect(first.id).toBe(id);
    expect(second.id).toBe(id);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await queue.getJob(id))?.data).toEqual({ v: 1 });

    const seen: number[] = [];
    newWorker(name, async (job) => void seen.push(job.data.v));
    await waitFor(async () => (await queue.getJobState(id)) === 'completed', 15_000, 'completion');
    await queue.add('x', { v: 3 }, { jobId: id });
    await sleep(500);
    expect(seen).toEqual([1]);
    expect(await queue.getJobCounts('waiting', 'completed')).toEqual({ waiting: 0, completed: 1 });
  });

  it('removes a delayed job by id before it runs, and the id can be reused', async () => {
    const name = queueName('remove');
    const queue = newQueue(name);
    const seen: string[] = [];
    newWorker(name, async (job) => void seen.push(`${job.id}:${job.data.round}`));
    await queue.add('r', { round: 1 }, { jobId: 'escalate-p1', delay: 800 });
    expect(await queue.getJobState('escalate-p1')).toBe('delayed');

    expect(await queue.remove('escalate-p1')).toBe(1);
    expect(await queue.getJob('escalate-p1')).toBeUndefined();
    expect(await queue.getJobCounts('delayed')).toEqual({ delayed: 0 });
    await sleep(1300);
    expect(seen).toEqual([]);

    await queue.add('r', { round: 2 }, { jobId: 'escalate-p1', delay: 200 });
    await waitFor(() => seen.length === 1, 15_000, 'the re-added job');
    expect(seen).toEqual(['escalate-p1:2']);
  });

  it('retries with exponential backoff, then fails for good after the last attempt', async () => {
    const name = queueName('retry');
    const queue = newQueue(name);
    const attemptsAt: Record<string, number[]> = { flaky: [], broken: [] };
    newWorker(name, async (job) => {
      attemptsAt[job.name].push(Date.now());
      if (job.name === 'broken' || job.attemptsMade < 2)
        throw new Error(`${job.name} attempt ${job.attemptsMade + 1}`);
      return 'delivered';
    });
    const flaky = await queue.add(
      'flaky',
      {},
      { attempts: 3, backoff: { type: 'exponential', delay: 300 } },
    );
    const broken = await queue.add(
      'broken',
      {},
      { attempts: 2, backoff: { type: 'fixed', delay: 200 } },
    );

    await waitFor(async () => (await flaky.getState()) === 'completed', 15_000, 'the flaky job');
    await waitFor(async () => (await broken.getState()) === 'failed', 15_000, 'the broken job');
    const [f1, f2, f3] = attemptsAt.flaky;
    expect(attemptsAt.flaky).toHaveLength(3);
    expect(f2 - f1).toBeGreaterThanOrEqual(300 - 20); // 300 * 2^0
    expect(f3 - f2).toBeGreaterThanOrEqual(600 - 20); // 300 * 2^1
    const flakyDone = await queue.getJob(flaky.id!);
    expect(flakyDone?.returnvalue).toBe('delivered');
    expect(flakyDone?.attemptsMade).toBe(3);

    const brokenDone = await queue.getJob(broken.id!);
    expect(attemptsAt.broken).toHaveLength(2);
    expect(brokenDone?.attemptsMade).toBe(2);
    expect(brokenDone?.failedReason).toBe('broken attempt 2');
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 1 });
  });

  it('runs a failed job again under its id with fresh attempts (retry), and re-adds a removed one', async () => {
    const name = queueName('revive');
    const queue = newQueue(name);
    let healthy = false;
    const runs: number[] = [];
    newWorker(name, async (job) => {
      runs.push(job.attemptsMade);
      if (!healthy) throw new Error('down');
      return 'done';
    });
    const job = await queue.add('send', {}, { jobId: 'attempt-1', attempts: 2 });
    await waitFor(async () => (await job.getState()) === 'failed', 15_000, 'the job to fail');
    healthy = true;
    const failed = await queue.getJob('attempt-1');
    await failed!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    await waitFor(async () => (await job.getState()) === 'completed', 15_000, 'the retried job');
    expect(runs).toEqual([0, 1, 0]);
    // A finished job removed by id can be added again under the same id.
    await (await queue.getJob('attempt-1'))!.remove();
    expect(await queue.getJobState('attempt-1')).toBe('unknown');
    const again = await queue.add('send', {}, { jobId: 'attempt-1' });
    await waitFor(async () => (await again.getState()) === 'completed', 15_000, 'the re-added job');
    expect(runs).toEqual([0, 1, 0, 0]);
  });

  it('delivers QueueEvents (completed, failed, progress) and waitUntilFinished', async () => {
    const name = queueName('events');
    const queue = newQueue(name);
    const events = await newQueueEvents(name);
    const completed: string[] = [];
    const failed: Array<[string, string]> = [];
    const progress: unknown[] = [];
    events.on('completed', ({ jobId }) => void completed.push(jobId));
    events.on('failed', ({ jobId, failedReason }) => void failed.push([jobId, failedReason]));
    events.on('progress', ({ data }) => void progress.push(data));
    newWorker(name, async (job) => {
      if (job.name === 'bad') throw new Error('no answer');
      await job.updateProgress({ step: 'sent' });
      return { ok: job.data.n };
    });

    const good = await queue.add('good', { n: 7 });
    const bad = await queue.add('bad', {});
    await expect(good.waitUntilFinished(events, 15_000)).resolves.toEqual({ ok: 7 });
    await expect(bad.waitUntilFinished(events, 15_000)).rejects.toThrow('no answer');
    await waitFor(() => completed.length === 1 && failed.length === 1, 5_000, 'events');
    expect(completed).toEqual([good.id]);
    expect(failed).toEqual([[bad.id, 'no answer']]);
    expect(progress).toEqual([{ step: 'sent' }]);
  });

  it('reports job counts per state', async () => {
    const name = queueName('counts');
    const queue = newQueue(name);
    await queue.add('w', {});
    await queue.add('w', {});
    await queue.add('p', {}, { priority: 3 });
    await queue.add('d', {}, { delay: 60_000 });
    expect(
      await queue.getJobCounts(
        'waiting',
        'prioritized',
        'delayed',
        'active',
        'completed',
        'failed',
      ),
    ).toEqual({
      waiting: 2,
      prioritized: 1,
      delayed: 1,
      active: 0,
      completed: 0,
      failed: 0,
    });
    newWorker(name, async (job) => {
      if (job.name === 'p') throw new Error('x');
    });
    await waitFor(
      async () => (await queue.getJobCounts('completed')).completed === 2,
      15_000,
      'completions',
    );
    await waitFor(async () => (await queue.getJobCounts('failed')).failed === 1, 15_000, 'failure');
    expect(await queue.getJobCounts('waiting', 'prioritized', 'delayed')).toEqual({
      waiting: 0,
      prioritized: 0,
      delayed: 1,
    });
  });

  // Beyond the list above, cheap checks of other things a dispatcher tends to use.

  it('promotes and re-times delayed jobs (changeDelay, promote)', async () => {
    const name = queueName('promote');
    const queue = newQueue(name);
    const seen: string[] = [];
    newWorker(name, async (job) => void seen.push(job.name));
    const a = await queue.add('a', {}, { delay: 60_000 });
    const b = await queue.add('b', {}, { delay: 60_000 });
    await a.promote();
    await b.changeDelay(300);
    await waitFor(() => seen.length === 2, 15_000, 'both jobs');
    expect(seen).toEqual(['a', 'b']);
  });

  it('gives a stalled job (worker died holding it) to another worker', async () => {
    const name = queueName('stalled');
    const queue = newQueue(name);
    await queue.add('s', { n: 1 });
    // A worker that takes the job and never finishes it or renews its lock.
    const dead = newWorker(name, null as unknown as Processor, {
      autorun: false,
      lockDuration: 500,
    });
    const taken = await dead.getNextJob('dead-token');
    expect(taken?.data).toEqual({ n: 1 });
    await dead.close(true);

    const seen: number[] = [];
    newWorker(name, async (job: Job) => void seen.push(job.data.n), {
      stalledInterval: 300,
      lockDuration: 500,
    });
    await waitFor(() => seen.length === 1, 15_000, 'the stalled job');
    expect(seen).toEqual([1]);
  });

  it('backs off on a manual rate limit (provider said 429) without spending an attempt', async () => {
    const name = queueName('ratelimit');
    const queue = newQueue(name);
    const tries: number[] = [];
    const worker = newWorker(name, async (job) => {
      tries.push(Date.now());
      if (tries.length === 1) {
        await worker.rateLimit(600);
        throw Worker.RateLimitError();
      }
      return job.attemptsMade;
    });
    const job = await queue.add('send', {}, { attempts: 1 });
    await expect(job.waitUntilFinished(await newQueueEvents(name), 15_000)).resolves.toBe(0);
    expect(tries).toHaveLength(2);
    expect(tries[1] - tries[0]).toBeGreaterThanOrEqual(600 - 20);
  });

  it('caps active jobs across workers with a global concurrency', async () => {
    const name = queueName('concurrency');
    const queue = newQueue(name);
    await queue.setGlobalConcurrency(1);
    await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'c', data: { i } })));
    let active = 0;
    let maxActive = 0;
    let done = 0;
    const processor: Processor = async () => {
      maxActive = Math.max(maxActive, ++active);
      await sleep(50);
      active--;
      done++;
    };
    newWorker(name, processor, { concurrency: 3 });
    newWorker(name, processor, { concurrency: 3 });
    await waitFor(() => done === 6, 15_000, 'six jobs');
    expect(maxActive).toBe(1);
  });

  it('runs a job scheduler (repeat every 300 ms)', async () => {
    const name = queueName('scheduler');
    const queue = newQueue(name);
    const runs: number[] = [];
    newWorker(name, async () => void runs.push(Date.now()));
    await queue.upsertJobScheduler('tick', { every: 300 }, { name: 'tick' });
    await waitFor(() => runs.length >= 3, 15_000, 'three ticks');
    await queue.removeJobScheduler('tick');
  });
});
