import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who holds a send's claim (a person's attempt, a robot or loudspeaker send, a hazard report
 * notice, which also gets the time of its claim): each run of a send job claims with a token of its own
 * (`claim_token`). A second run of the same job (BullMQ runs a job again when its lock runs out,
 * which can happen while the first run is alive) may take over a claim only once the holder let
 * it go (its try ended without a result) or its lease ran out (SEND_CLAIM_LEASE_SECONDS).
 */
export class SendClaimOwners1765540000000 implements MigrationInterface {
  name = 'SendClaimOwners1765540000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts ADD COLUMN claim_token uuid`);
    await q.query(`ALTER TABLE group_sends ADD COLUMN claim_token uuid`);
    await q.query(
      `ALTER TABLE hazard_report_notices ADD COLUMN claim_token uuid, ADD COLUMN claimed_at timestamptz`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE hazard_report_notices DROP COLUMN claim_token, DROP COLUMN claimed_at`,
    );
    await q.query(`ALTER TABLE group_sends DROP COLUMN claim_token`);
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN claim_token`);
  }
}
