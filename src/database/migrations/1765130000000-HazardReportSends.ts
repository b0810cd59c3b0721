import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hazard report notices go through a queue (hazard-reports): a notice is written `queued` with the
 * number it goes to, claimed (`sending`, `tries` counted) by the job that sends it, and `sent`,
 * `failed` or `cancelled` after. The provider's status callback records what became of it
 * (`outcome`: delivered / undelivered for an SMS; completed / no-answer / busy / failed for a
 * call) and when.
 */
export class HazardReportSends1765130000000 implements MigrationInterface {
  name = 'HazardReportSends1765130000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE hazard_report_notices DROP CONSTRAINT IF EXISTS hazard_report_notices_status_check`,
    );
    await q.query(`
      ALTER TABLE hazard_report_notices
        ADD CONSTRAINT hazard_report_notices_status_check
          CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
        ADD COLUMN address text,
        ADD COLUMN tries int NOT NULL DEFAULT 0,
        ADD COLUMN outcome text,
        ADD COLUMN outcome_at timestamptz`);
    await q.query(
      `CREATE INDEX hazard_report_notices_open_idx ON hazard_report_notices (created_at)
        WHERE status IN ('queued', 'sending')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX hazard_report_notices_open_idx`);
    await q.query(
      `UPDATE hazard_report_notices SET status = 'failed' WHERE status IN ('queued', 'cancelled')`,
    );
    await q.query(`
      ALTER TABLE hazard_report_notices
        DROP CONSTRAINT hazard_report_notices_status_check,
        DROP COLUMN address, DROP COLUMN tries, DROP COLUMN outcome, DROP COLUMN outcome_at`);
    await q.query(`
      ALTER TABLE hazard_report_notices ADD CONSTRAINT hazard_report_notices_status_check
        CHECK (status IN ('sending', 'sent', 'failed'))`);
  }
}
