import type { Logger } from '@nestjs/common';
import type { Worker } from 'bullmq';
import { TimeoutError, withTimeout } from '../with-timeout';

/**
 * Stops a BullMQ worker gracefully if it can (the jobs in hand finish and are recorded), waiting
 * at most `ms`. BullMQ's `close()` waits for the worker's loop, which waits for a blocking command
 * on the queue connection; with Redis unreachable that command never returns, so `close()` never
 * does either. A gateway asked to stop must stop: after `ms` the worker's connections are dropped
 * without waiting (no socket, no reconnect timer is left to keep the process alive) and stopping
 * goes on without it, saying so. A job cut short that way is run again by another worker once its
 * lock expires (sends are idempotent per attempt).
 */
export async function closeWorkerWithin(
  worker: Worker,
  ms: number,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  try {
    await withTimeout(worker.close(), ms, `stopping the ${worker.name} worker`);
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    logger.warn(
      { queue: worker.name, waitedMs: ms },
      'a queue worker did not stop in time (queue backend unreachable?): dropping its connections',
    );
    dropConnections(worker);
  }
}

interface DroppableBackend {
  /** Redis backend: the blocking connection, dropped without waiting for its end. */
  disconnectBlocking?(wait: boolean): Promise<void>;
  connection?: { disconnect?(wait: boolean): Promise<void> };
}

/**
 * Drops a worker's queue connections without waiting: BullMQ's own `disconnect()` waits for an
 * `end` event that a connection between reconnects never emits. Best effort by design: the
 * process is stopping.
 */
function dropConnections(worker: Worker): void {
  const backend = worker.backend as unknown as DroppableBackend;
  void backend.disconnectBlocking?.(false).catch(() => undefined);
  void backend.connection?.disconnect?.(false).catch(() => undefined);
}
