import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `contact_attempts.unanswered_body`: the text of the SMS whose request the provider left
 * unanswered, as it was sent. Asked about later (when no status callback recorded it), the provider
 * is asked for this text, not for the text rendered anew: a name, a roster or a notice's figures
 * may have changed since, and a message looked for under a new text is not found and sent twice.
 */
export class UnansweredBody1765670000000 implements MigrationInterface {
  name = 'UnansweredBody1765670000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts ADD COLUMN IF NOT EXISTS unanswered_body text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN IF EXISTS unanswered_body`);
  }
}
