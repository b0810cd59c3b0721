/**
 * Every BullMQ queue of the gateway. Keys are prefixed with QUEUE_PREFIX, a Redis hash tag such as
 * `{wg}`, so that all keys of a queue share one Redis Cluster slot (BullMQ's Lua scripts need it).
 */
export const QUEUE_NAMES = {
  /** Housekeeping: e.g. scheduled checks. Issue-specific queues are added beside it. */
  maintenance: 'maintenance',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];
export const ALL_QUEUES: QueueName[] = Object.values(QUEUE_NAMES);
