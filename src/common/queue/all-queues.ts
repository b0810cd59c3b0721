import { getQueueToken } from '@nestjs/bullmq';
import type { Provider } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { ALL_QUEUES, type QueueName } from './queue-names';

/** Every queue of the gateway by name, for health checks and metrics (read-only use). */
export class AllQueues {
  constructor(private readonly queues: ReadonlyMap<QueueName, Queue>) {}

  get(name: QueueName): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`queue ${name} is not registered`);
    return queue;
  }

  entries(): [QueueName, Queue][] {
    return [...this.queues.entries()];
  }
}

/** AllQueues from the queues BullModule registered (declared dependencies, no lookup by name). */
export const allQueuesProvider: Provider = {
  provide: AllQueues,
  inject: ALL_QUEUES.map((name) => getQueueToken(name)),
  useFactory: (...queues: Queue[]) =>
    new AllQueues(new Map(ALL_QUEUES.map((name, i) => [name, queues[i]]))),
};
