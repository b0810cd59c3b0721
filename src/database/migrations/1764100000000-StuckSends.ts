import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a send was last claimed by a worker. The recovery sweep uses it to find sends left in
 * `sending` (every try of the job failed on something other than the provider, such as the
 * database going away at the moment of recording) and brings them back.
 */
export class StuckSends1764100000000 implements MigrationInterface {
  name = 'StuckSends1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts ADD COLUMN claimed_at timestamptz`);
    await q.query(`ALTER TABLE group_sends ADD COLUMN claimed_at timestamptz`);
    await q.query(
      `CREATE INDEX group_sends_sending_idx ON group_sends (claimed_at) WHERE status = 'sending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX group_sends_sending_idx`);
    await q.query(`ALTER TABLE group_sends DROP COLUMN claimed_at`);
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN claimed_at`);
  }
}
