import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `contact_attempts_delivery_idx (delivery_id)` repeats the leading column of the unique
 * `contact_attempts_seq_key (delivery_id, version, msg_type, purpose, seq)`, which serves every
 * lookup of a delivery's attempts as well. Each attempt's insert and each of its updates that
 * cannot stay on its heap page (every status change: `status` is in the queued, sent and failed
 * indexes) wrote an entry to both; now to one.
 */
export class DropAttemptDeliveryIndex1765650000000 implements MigrationInterface {
  name = 'DropAttemptDeliveryIndex1765650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS contact_attempts_delivery_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS contact_attempts_delivery_idx ON contact_attempts (delivery_id)`,
    );
  }
}
