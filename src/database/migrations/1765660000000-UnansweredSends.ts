import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `contact_attempts.unanswered_at`: when the provider last left a request of this send
 * unanswered (a time-out, a connection cut after the request was written). The provider may
 * still accept such a request; the send's next try waits SEND_UNANSWERED_SETTLE_MS from then
 * before it asks the provider whether it has the message.
 */
export class UnansweredSends1765660000000 implements MigrationInterface {
  name = 'UnansweredSends1765660000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE contact_attempts ADD COLUMN IF NOT EXISTS unanswered_at timestamptz`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN IF EXISTS unanswered_at`);
  }
}
