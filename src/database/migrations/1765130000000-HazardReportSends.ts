import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hazard report notices go through a queue (hazard-reports): a notice is written `queued` with the
 * number it goes to, claimed (`sending`, `tries` counted) by the job that sends it, and `sent`,
 * `failed` or `cancelled` after. The provider's status callback records what became of it
 * (`outcome`: delivered / undelivered for an SMS; completed / no-answer / busy / failed for a
 * call) and when.
 *
 * A report made by SMS (`险情 …`) keeps the MessageSid it came in (unique: a retried webhook makes
 * no second report) and the person who sent it. An acknowledgement records the person and the
 * notice it answered (a keypress, an SMS reply or the signed link of that notice).
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
    await q.query(`
      ALTER TABLE hazard_reports
        ADD COLUMN sms_message_sid text UNIQUE,
        ADD COLUMN reported_by_person uuid REFERENCES people(id) ON DELETE SET NULL`);
    await q.query(`
      ALTER TABLE hazard_report_acks
        ADD COLUMN person_id uuid REFERENCES people(id) ON DELETE SET NULL,
        ADD COLUMN notice_id uuid REFERENCES hazard_report_notices(id)`);
    await q.query(
      `CREATE INDEX hazard_report_notices_open_idx ON hazard_report_notices (created_at)
        WHERE status IN ('queued', 'sending')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE hazard_report_acks DROP COLUMN person_id, DROP COLUMN notice_id`);
    await q.query(
      `ALTER TABLE hazard_reports DROP COLUMN sms_message_sid, DROP COLUMN reported_by_person`,
    );
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
