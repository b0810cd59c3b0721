import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';

/** One answer's work in a transaction, and whom to tell how it ended. */
interface Item<T = unknown> {
  work: (m: EntityManager) => Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/** Postgres errors after which an answer is simply run again, in a transaction of its own. */
const RUN_AGAIN = new Set([
  '40P01', // deadlock_detected: two batches took the same rows in opposite orders
  '40001', // serialization_failure
  '55P03', // lock_not_available: it waited BATCH_LOCK_WAIT_MS for a row another transaction holds
]);

/**
 * Longest an answer in a batch waits for a row lock (`lock_timeout`): the answers after it in its
 * batch wait as long. Past it, the answer is rolled back to its savepoint and runs again alone
 * after its batch, where it waits for the row as long as it takes.
 */
export const BATCH_LOCK_WAIT_MS = 250;

export interface AnswerBatchesOptions {
  /** Transactions at once (ANSWER_BATCH_LANES). */
  lanes: number;
  /** Answers in one transaction, at most (ANSWER_BATCH_MAX). */
  max: number;
}

/**
 * Answers share their commits. Each answer is the same work as ever (its statements, guards and
 * audit events: AnswersService.recordIn), but answers that arrive while the lanes are all busy
 * wait and then go together, each in a savepoint of one transaction, with one commit (one WAL
 * flush to wait for) for all of them. An answer that arrives when a lane is free goes at once,
 * alone, in a plain transaction: nothing waits for company.
 *
 * An answer whose work fails is rolled back to its savepoint and fails alone; the others of its
 * batch commit. One that a deadlock or a serialization failure stopped (answers of two batches
 * taking the same rows in opposite orders), or that waited BATCH_LOCK_WAIT_MS for a row another
 * transaction holds (so that the answers behind it do not wait as long), runs again after its
 * batch, alone. When the commit fails, every answer of the batch fails with its error, as each
 * would have in a transaction of its own. A batch holds at most `max` savepoints: Postgres keeps
 * up to 64 subtransactions per transaction in shared memory, beyond which every session's
 * snapshots get slower.
 */
export class AnswerBatches {
  private readonly logger = new Logger(AnswerBatches.name);
  private readonly waiting: Item[] = [];
  private running = 0;
  /** Transactions committed with more than one answer, and the answers in them (for tests). */
  readonly shared = { batches: 0, answers: 0 };

  constructor(
    private readonly db: DataSource,
    private readonly opts: AnswerBatchesOptions,
  ) {}

  /** Runs `work` in a transaction, shared with the answers waiting beside it. */
  run<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ work, resolve, reject } as Item);
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.opts.lanes && this.waiting.length) {
      const items = this.waiting.splice(0, this.opts.max);
      this.running++;
      void this.runBatch(items).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async runBatch(items: Item[]): Promise<void> {
    if (items.length === 1) return this.runAlone(items[0]);
    const qr = this.db.createQueryRunner();
    try {
      await qr.connect();
      await qr.startTransaction();
      await qr.query(`SET LOCAL lock_timeout = '${BATCH_LOCK_WAIT_MS}ms'`);
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      await qr.release().catch(() => undefined);
      for (const item of items) item.reject(err);
      return;
    }
    const done: { item: Item; value: unknown }[] = [];
    const again: Item[] = [];
    let broken: unknown;
    for (const item of items) {
      if (broken) {
        item.reject(broken);
        continue;
      }
      try {
        await qr.query('SAVEPOINT answer');
        const value = await item.work(qr.manager);
        await qr.query('RELEASE SAVEPOINT answer');
        done.push({ item, value });
      } catch (err) {
        try {
          await qr.query('ROLLBACK TO SAVEPOINT answer');
        } catch (lost) {
          // The connection is gone: nothing of this transaction will commit.
          broken = lost;
        }
        if (RUN_AGAIN.has((err as { code?: string }).code ?? '')) again.push(item);
        else item.reject(err);
      }
    }
    try {
      if (broken) throw broken;
      await qr.commitTransaction();
      this.shared.batches++;
      this.shared.answers += done.length;
      for (const d of done) d.item.resolve(d.value);
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      for (const d of done) d.item.reject(err);
    } finally {
      await qr.release().catch(() => undefined);
    }
    if (again.length)
      this.logger.debug(
        { answers: again.length },
        'answers of a batch stopped by a lock wait or a deadlock: run again alone',
      );
    for (const item of again) await this.runAlone(item);
  }

  private async runAlone(item: Item): Promise<void> {
    await this.db.transaction((m) => item.work(m)).then(item.resolve, item.reject);
  }
}
