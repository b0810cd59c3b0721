import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sends whose status callbacks never came are asked about at the provider by the recovery sweep.
 * `status_asked_at` records when a send was last asked about, so every worker process shares one
 * view of what was asked (and a process restart does not ask everything again); the partial index
 * keeps finding the silent sends cheap however many attempts a county has: a send leaves it as
 * soon as its status moves on from `sent`.
 */
export class StatusPolls1765450000000 implements MigrationInterface {
  name = 'StatusPolls1765450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts ADD COLUMN status_asked_at timestamptz`);
    await q.query(
      `CREATE INDEX contact_attempts_silent_idx ON contact_attempts (sent_at)
        WHERE status = 'sent' AND provider_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX contact_attempts_silent_idx`);
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN status_asked_at`);
  }
}
