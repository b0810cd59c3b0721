import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The 叫应 chain of a 特大型 / 大型 hazard report, one row per duty office level that must
 * acknowledge (`hazard_report_chains`: `running` at `step` until `step_due_at`, then the next
 * step; `acknowledged` or `exhausted`; the moves are in `report-chain.ts`). A notice records the
 * step it belongs to, the kind of contact point it went to, and the notice it replaced when it is a
 * failover (`failover_of`, unique: a failed notice fails over once, however many callbacks say so).
 */
export class HazardReportChains1765530000000 implements MigrationInterface {
  name = 'HazardReportChains1765530000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE hazard_report_chains (
        report_id uuid NOT NULL REFERENCES hazard_reports(id),
        level text NOT NULL CHECK (level IN ('county', 'city')),
        state text NOT NULL DEFAULT 'running'
          CHECK (state IN ('running', 'acknowledged', 'exhausted')),
        step int NOT NULL DEFAULT 0 CHECK (step >= 0),
        step_started_at timestamptz NOT NULL DEFAULT now(),
        step_due_at timestamptz NOT NULL,
        ended_at timestamptz,
        PRIMARY KEY (report_id, level)
      )`);
    await q.query(
      `CREATE INDEX hazard_report_chains_running_idx ON hazard_report_chains (step_due_at)
        WHERE state = 'running'`,
    );
    await q.query(`
      ALTER TABLE hazard_report_notices
        ADD COLUMN step int NOT NULL DEFAULT 0,
        ADD COLUMN contact_kind text,
        ADD COLUMN failover_of uuid UNIQUE REFERENCES hazard_report_notices(id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE hazard_report_notices
        DROP COLUMN step, DROP COLUMN contact_kind, DROP COLUMN failover_of`);
    await q.query(`DROP TABLE hazard_report_chains`);
  }
}
