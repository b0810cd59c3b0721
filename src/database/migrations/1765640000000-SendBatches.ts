import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A warning's first SMS contacts go out a batch of people a job (`send-sms-batch`). Each attempt
 * of such a batch carries the batch's id, so that the recovery sweep can tell an attempt waiting
 * in a batch job that still exists (left alone) from one whose job was lost (sent on its own).
 * Nullable, no default, no index: written in the attempt's insert, read only by the sweep.
 */
export class SendBatches1765640000000 implements MigrationInterface {
  name = 'SendBatches1765640000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts ADD COLUMN send_batch uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN send_batch`);
  }
}
