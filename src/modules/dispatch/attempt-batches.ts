import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import DataLoader from 'dataloader';
import { positive } from '../../common/config-number';
import { type AttemptRow, DispatchRepository } from './dispatch.repository';
import { SendMoves } from '../chain/send-moves.repository';
import { claimLeaseSeconds, type SendClaim } from '../chain/send-claims';

export interface AcceptedRecord {
  id: string;
  provider: string;
  providerId: string;
  segments?: number;
}

/** Longest a send waits for others to share its statement (ms); SEND_BATCH_WINDOW_MS. */
const DEFAULT_WINDOW_MS = 2;
/** Most sends in one statement; SEND_BATCH_MAX. */
const DEFAULT_MAX = 200;

/**
 * Set-based reads and writes for the senders. Each send job still stands alone in BullMQ (its
 * own priority, retries and deferral), but the jobs a worker runs side by side share their SQL:
 * the reads of their attempts, their claims and the recording of what the providers accepted
 * are gathered for a couple of milliseconds (DataLoader) and made in one statement each, instead
 * of one round trip (and one transaction) per person.
 */
@Injectable()
export class AttemptBatches {
  private readonly reads: DataLoader<string, AttemptRow | undefined>;
  private readonly claims: DataLoader<SendClaim, boolean>;
  /** SEND_CLAIM_LEASE_SECONDS: how long a run's claim holds while the run is silent. */
  readonly leaseSeconds: number;
  private readonly accepted: DataLoader<AcceptedRecord, void>;

  constructor(
    private readonly repo: DispatchRepository,
    private readonly moves: SendMoves,
    config: ConfigService,
  ) {
    const windowMs = positive(config.get('SEND_BATCH_WINDOW_MS'), DEFAULT_WINDOW_MS, true);
    const maxBatchSize = positive(config.get('SEND_BATCH_MAX'), DEFAULT_MAX);
    const options = {
      cache: false,
      maxBatchSize,
      batchScheduleFn: (run: () => void) => setTimeout(run, windowMs),
    };
    this.reads = new DataLoader(async (ids) => {
      const found = new Map((await repo.findAttempts([...new Set(ids)])).map((a) => [a.id, a]));
      return ids.map((id) => found.get(id));
    }, options);
    this.leaseSeconds = claimLeaseSeconds(config);
    this.claims = new DataLoader(async (claims) => {
      // The same attempt twice in one batch (a job run again beside its first run): only the
      // first run's token goes to the statement, so only that run may send it.
      const first = new Map<string, SendClaim>();
      for (const c of claims) if (!first.has(c.id)) first.set(c.id, c);
      const claimed = await moves.claimMany([...first.values()], this.leaseSeconds);
      return claims.map((c) => claimed.has(c.id) && first.get(c.id) === c);
    }, options);
    this.accepted = new DataLoader(
      async (records) => {
        try {
          await moves.markSentMany([...records]);
          return records.map(() => undefined);
        } catch {
          // One bad item (a provider id already recorded elsewhere) must not cost the others:
          // each is recorded on its own, and its own error goes back to its own send.
          return Promise.all(
            records.map((r) =>
              moves.markSent(r.id, r.provider, r.providerId, r.segments).then(
                () => undefined,
                (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
              ),
            ),
          );
        }
      },
      { ...options, cache: false },
    );
  }

  /** The attempt with its person, delivery and warning (as DispatchRepository.findAttempt). */
  find(id: string): Promise<AttemptRow | undefined> {
    return this.reads.load(id);
  }

  /**
   * Claims the attempt for the run named by `token`; false when it is no longer claimable: done,
   * or held by another run (see `claimFree`).
   */
  claim(id: string, token: string): Promise<boolean> {
    return this.claims.load({ id, token });
  }

  /** Records a provider's acceptance (as SendMoves.markSent); rejects on its error. */
  recordSent(record: AcceptedRecord): Promise<void> {
    return this.accepted.load(record);
  }
}
