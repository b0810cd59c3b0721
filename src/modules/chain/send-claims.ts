import type { ConfigService } from '@nestjs/config';
import type { DataSource } from 'typeorm';
import { rows } from '../../database/sql';

/**
 * Who holds a send's claim. Each run of a send job claims with a token of its own
 * (`claim_token`): BullMQ runs a job again when its lock runs out, which also happens while the
 * first run is alive, and two runs must never both send. Used for a person's attempts, robot and
 * loudspeaker sends, and hazard report notices.
 */

/** A run of a send job claiming its attempt: the run's own token. */
export interface SendClaim {
  id: string;
  token: string;
}

/**
 * SEND_CLAIM_LEASE_SECONDS (default 90): how long a run's claim holds while the run is silent.
 * It must outlast a provider lookup and a send (the Twilio SDK's timeout is 30 s each).
 */
export function claimLeaseSeconds(config: ConfigService): number {
  const lease = Number(config.get('SEND_CLAIM_LEASE_SECONDS'));
  return Number.isInteger(lease) && lease > 0 ? lease : 90;
}

/** The tables whose sends are claimed per run. */
export type ClaimedTable = 'contact_attempts' | 'group_sends' | 'hazard_report_notices';

/**
 * A send a run may claim: queued, or `sending` with nobody holding it (its last run let go) or
 * with its holder's lease run out (a run killed mid-send: the next run asks the provider before
 * sending, where it can). A claim held by a live run is left alone, so one send never goes out
 * from two runs. `lease`: the SQL parameter holding the lease in seconds.
 */
export function claimFree(alias: string, lease: string): string {
  return `(${alias}.status = 'queued' OR ${alias}.claim_token IS NULL
           OR ${alias}.claimed_at < now() - make_interval(secs => ${lease}))`;
}

/**
 * A claim a run could not take: the send's status, and for a claim another run holds, how long
 * until its lease runs out (ms).
 */
export async function heldClaim(
  db: DataSource,
  table: ClaimedTable,
  id: string,
  leaseSeconds: number,
): Promise<{ status: string; waitMs: number } | undefined> {
  const [held] = await rows<{ status: string; waitMs: number }>(
    db,
    `SELECT status, greatest(0, ceil(extract(epoch FROM
              (claimed_at + make_interval(secs => $2) - now())) * 1000))::int AS "waitMs"
       FROM ${table} WHERE id = $1`,
    [id, leaseSeconds],
  );
  return held;
}

/** A run ends without a result: its claim is let go, so that the next run takes it at once. */
export async function letGoClaim(
  db: DataSource,
  table: ClaimedTable,
  id: string,
  token: string,
): Promise<void> {
  await db.query(`UPDATE ${table} SET claim_token = NULL WHERE id = $1 AND claim_token = $2`, [
    id,
    token,
  ]);
}
