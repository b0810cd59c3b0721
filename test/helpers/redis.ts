import { randomBytes } from 'node:crypto';

/** redis:// URL of the test Redis (set by test/setup/global-setup.ts). */
export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    throw new Error(
      'TEST_REDIS_URL is not set: run tests through jest (npm test), whose global setup starts redis-server',
    );
  }
  return url;
}

/**
 * A BullMQ key prefix of its own for a test file, hash-tagged like QUEUE_PREFIX (`{wg}`) so all keys
 * of a queue share one Redis Cluster slot, e.g. `{t1a2b3c4d}`.
 */
export function uniqueQueuePrefix(): string {
  return `{t${randomBytes(4).toString('hex')}}`;
}
