import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A CAP alert from a sender that is not a trusted upstream authority, under the two-person rule,
 * lands as a draft: the draft keeps the alert's identity (its identifier, sent time and sender)
 * so that the approved warning carries them, and one identifier is drafted at most once.
 */
export class CapImportDrafts1765410000000 implements MigrationInterface {
  name = 'CapImportDrafts1765410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE warning_drafts ADD COLUMN cap jsonb`);
    await q.query(
      `CREATE UNIQUE INDEX warning_drafts_cap_identifier ON warning_drafts ((cap->>'identifier')) WHERE cap IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX warning_drafts_cap_identifier`);
    await q.query(`ALTER TABLE warning_drafts DROP COLUMN cap`);
  }
}
