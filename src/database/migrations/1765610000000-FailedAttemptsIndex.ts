import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The recovery sweep's search for failure handling cut short (people every attempt of whose
 * message failed, still `pending` or `sent`) starts from the failed attempts of active warnings
 * instead of reading every open delivery of them: at a million people that read took seconds
 * each sweep. Failed attempts are few; the partial index holds only them.
 */
export class FailedAttemptsIndex1765610000000 implements MigrationInterface {
  name = 'FailedAttemptsIndex1765610000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX contact_attempts_failed_idx ON contact_attempts (warning_id) WHERE status = 'failed'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX contact_attempts_failed_idx`);
  }
}
