import { TcpFaultProxy } from '../faults/harness/tcp-proxy';
import { startTestApp, type TestApp } from '../helpers/app';

/** Longer than any graceful stop may take here; a stop that has not ended by then never will. */
const STUCK_AFTER_MS = 60_000;

/**
 * A gateway asked to stop (SIGTERM, a deploy) while Redis is unreachable. BullMQ's worker close
 * waits for a blocking command that never returns; the gateway used to hang there for good (a
 * test that closed an app this way kept the whole test run alive until CI's limit).
 */
describe('stopping while the queue backend is unreachable', () => {
  let t: TestApp;
  let redis: TcpFaultProxy;
  const testRedisUrl = process.env.TEST_REDIS_URL as string;

  beforeAll(async () => {
    const target = new URL(testRedisUrl);
    redis = await TcpFaultProxy.start(target.hostname, Number(target.port));
    process.env.TEST_REDIS_URL = `redis://127.0.0.1:${redis.port}`;
    try {
      t = await startTestApp({ sandbox: true, env: { WORKER_STOP_TIMEOUT_MS: '1000' } });
    } finally {
      process.env.TEST_REDIS_URL = testRedisUrl;
    }
  });
  afterAll(async () => {
    redis.up();
    await redis.close();
  });

  it('stops: the workers are given WORKER_STOP_TIMEOUT_MS, then left behind, saying so', async () => {
    redis.cut();
    // The workers notice: their connections fail and they start reconnecting.
    await new Promise((r) => setTimeout(r, 2000));
    const warnings: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      warnings.push(String(chunk));
      return true;
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      t.close().then(() => 'stopped'),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('still stopping'), STUCK_AFTER_MS);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      stdout.mockRestore();
    });
    expect(outcome).toBe('stopped');
    const leftBehind = warnings.filter((w) => w.includes('a queue worker did not stop in time'));
    expect(leftBehind.length).toBeGreaterThan(0);
    expect(leftBehind.join('')).toContain('"queue":"send-sms"');
  });
});
