import { AsyncResource } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** One answer's work in a transaction, and whom to tell how it ended. */
interface Item<T = unknown> {
  work: (m: EntityManager) => Promise<T>;
  /** What it writes (its call, else its person): never in two transactions at once. */
  key?: string;
  /** The answer itself, for `AnswerBatchesOptions.many`. */
  data?: unknown;
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
  /**
   * The work of a whole batch at once, set-based (the answers' `data`, in order): each answer's
   * value or its own error. Tried first for a batch whose every answer has data, in a savepoint;
   * when it fails as a whole, the batch's answers run one by one as without it.
   */
  many?: (m: EntityManager, data: unknown[]) => Promise<ManyOutcome[]>;
}

/** One answer's end in `AnswerBatchesOptions.many`. */
export type ManyOutcome = { value: unknown } | { error: Error };

/**
 * Answers share their commits. Each answer is the same work as ever (its statements, guards and
 * audit events: AnswersService.recordIn), but answers that arrive while the lanes are all busy
 * wait and then go together in one transaction, with one commit (one WAL flush to wait for) for
 * all of them: first all at once (`many`, set-based: a few statements for the lot instead of a
 * few each), else each in a savepoint. An answer that arrives when a lane is free goes at once,
 * alone, in a plain transaction: nothing waits for company.
 *
 * In savepoints, an answer whose work fails is rolled back to its savepoint and fails alone; the others of its
 * batch commit. One that a deadlock or a serialization failure stopped (answers of two batches
 * taking the same rows in opposite orders), or that waited BATCH_LOCK_WAIT_MS for a row another
 * transaction holds (so that the answers behind it do not wait as long), runs again after its
 * batch, alone. When the commit fails, every answer of the batch fails with its error, as each
 * would have in a transaction of its own. A batch holds at most `max` savepoints: Postgres keeps
 * up to 64 subtransactions per transaction in shared memory, beyond which every session's
 * snapshots get slower.
 *
 * Answers of one key (a call's keypresses, a person's replies) never run in two lanes at once:
 * one whose key is in a running batch waits for that batch, and the answers of one key that wait
 * together go in the same batch, one after the other. Otherwise a second press of a call (a
 * gather posted again, a press under a new CallSid) would wait in its own batch for the row lock
 * of the first press's batch, and every answer behind it in that batch with it: under a storm of
 * answers such waits made most answers wait for others (`Lock:transactionid` 49 % of the sampled
 * sessions at 500 keypresses a second). Answers of other keys pass a waiting one.
 */
export class AnswerBatches {
  private readonly logger = new Logger(AnswerBatches.name);
  private readonly waiting: Item[] = [];
  private running = 0;
  /** Keys of the answers in running batches, with how many of each. */
  private readonly busy = new Map<string, number>();
  /**
   * Transactions committed with more than one answer, the answers in them, and how many of those
   * transactions recorded their answers set-based (`many`) (for tests).
   */
  readonly shared = { batches: 0, answers: 0, set: 0 };

  constructor(
    private readonly db: DataSource,
    private readonly opts: AnswerBatchesOptions,
  ) {}

  /**
   * Runs `work` in a transaction, shared with the answers waiting beside it. `key`: what the
   * answer writes (its call, else its person); answers of one key never run at once.
   */
  run<T>(work: (m: EntityManager) => Promise<T>, key?: string, data?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // The work runs in its caller's async context (AsyncLocalStorage: why an answer is late),
      // whichever answer's turn starts the batch it is in.
      this.waiting.push({ work: AsyncResource.bind(work), key, data, resolve, reject } as Item);
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.opts.lanes && this.waiting.length) {
      const items = this.nextBatch();
      if (!items.length) return; // every waiting answer's key is in a running batch
      this.running++;
      for (const { key } of items) if (key) this.busy.set(key, (this.busy.get(key) ?? 0) + 1);
      void this.runBatch(items).finally(() => {
        for (const { key } of items) {
          if (!key) continue;
          const left = this.busy.get(key)! - 1;
          if (left) this.busy.set(key, left);
          else this.busy.delete(key);
        }
        this.running--;
        this.pump();
      });
    }
  }

  /** The next batch, first come first: up to `max` waiting answers whose key is not running. */
  private nextBatch(): Item[] {
    const batch: Item[] = [];
    const left: Item[] = [];
    for (const item of this.waiting) {
      if (batch.length < this.opts.max && !(item.key && this.busy.has(item.key))) batch.push(item);
      else left.push(item);
    }
    this.waiting.splice(0, this.waiting.length, ...left);
    return batch;
  }

  private async runBatch(items: Item[]): Promise<void> {
    if (items.length === 1) return this.runAlone(items[0]);
    const qr = this.db.createQueryRunner();
    const together = this.canRunMany(items);
    try {
      await qr.connect();
      await qr.startTransaction();
      // One round trip: the lock timeout, and the savepoint of the set-based try (no parameters:
      // the simple query protocol takes several statements).
      await qr.query(
        `SET LOCAL lock_timeout = '${BATCH_LOCK_WAIT_MS}ms'${together ? '; SAVEPOINT answers' : ''}`,
      );
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      await qr.release().catch(() => undefined);
      for (const item of items) item.reject(err);
      return;
    }
    const outcomes = together ? await this.runMany(qr, items) : undefined;
    if (outcomes) {
      try {
        await qr.commitTransaction();
        this.shared.batches++;
        this.shared.answers += items.length;
        this.shared.set++;
        outcomes.forEach((o, n) =>
          'error' in o ? items[n].reject(o.error) : items[n].resolve(o.value),
        );
      } catch (err) {
        if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
        for (const item of items) item.reject(err);
      } finally {
        await qr.release().catch(() => undefined);
      }
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

  /** Whether the batch is tried set-based first: there is a `many`, and every answer has data. */
  private canRunMany(items: Item[]): boolean {
    return !!this.opts.many && items.every((i) => i.data !== undefined);
  }

  /**
   * The batch's work at once (`many`), after the savepoint `answers` (taken with the lock
   * timeout); undefined when it failed as a whole (rolled back to the savepoint: the answers then
   * run one by one in the same transaction). On success the savepoint is left to the commit,
   * which releases it (one round trip fewer).
   */
  private async runMany(qr: QueryRunner, items: Item[]): Promise<ManyOutcome[] | undefined> {
    try {
      return await this.opts.many!(
        qr.manager,
        items.map((i) => i.data),
      );
    } catch (err) {
      this.logger.debug({ err, answers: items.length }, 'answers of a batch run one by one');
      await qr.query('ROLLBACK TO SAVEPOINT answers').catch(() => undefined);
      return undefined;
    }
  }

  private async runAlone(item: Item): Promise<void> {
    await this.db.transaction((m) => item.work(m)).then(item.resolve, item.reject);
  }
}
