import { AllQueues } from '../../common/queue/all-queues';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ALL_QUEUES } from '../../common/queue/queue-names';

const TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref(),
    ),
  ]);
}

/** Up when the queue backend answers for every queue; reports their backlog. */
@Injectable()
export class QueueHealthIndicator {
  constructor(
    private readonly queues: AllQueues,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'queues') {
    const indicator = this.health.check(key);
    const counts: Record<string, Record<string, number>> = {};
    try {
      for (const [name, queue] of this.queues.entries()) {
        counts[name] = await withTimeout(
          // Prioritized jobs are waiting too (imminent warnings are sent with a priority).
          queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
          TIMEOUT_MS,
        );
      }
      return indicator.up(counts);
    } catch (err) {
      return indicator.down({ message: (err as Error).message, ...counts });
    }
  }

  /** PING through the connection BullMQ itself uses (Redis backend only). */
  async checkRedis(key = 'redis') {
    const indicator = this.health.check(key);
    try {
      const queue = this.queues.get(ALL_QUEUES[0]);
      const backend = queue.backend as unknown as { client: Promise<{ ping(): Promise<string> }> };
      const client = await withTimeout(backend.client, TIMEOUT_MS);
      const pong = await withTimeout(client.ping(), TIMEOUT_MS);
      return indicator.up({ pong });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
