import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Roster checks (名册测试: a test warning to the responsible persons of a division) and warning
 * drafts awaiting a second duty officer's approval (two-person release).
 */
export class RosterChecks1764900000000 implements MigrationInterface {
  name = 'RosterChecks1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE roster_checks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        warning_id uuid NOT NULL UNIQUE REFERENCES warnings(id) ON DELETE CASCADE,
        division_code varchar(12) COLLATE "C" NOT NULL REFERENCES divisions(code),
        token_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX roster_checks_division_idx ON roster_checks (division_code, created_at DESC)`,
    );
    await q.query(`
      CREATE TABLE warning_drafts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        state text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'approving', 'approved')),
        body jsonb NOT NULL,
        drafted_by uuid NOT NULL,
        drafter_name text NOT NULL,
        jurisdiction varchar(12) COLLATE "C" NOT NULL,
        preview_hash char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        approved_by uuid,
        approved_at timestamptz,
        warning_id uuid UNIQUE REFERENCES warnings(id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE warning_drafts`);
    await q.query(`DROP TABLE roster_checks`);
  }
}
