import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Direct notices of a hazard report go out: the SMS to each person threatened by the hazard point
 * (`hazard_site_people.relation = 'threatened'`) is a notice of the report like the duty offices'
 * (`level = 'threatened'`, `purpose = 'direct_notice'`), sent through the same queue and provider
 * path, and tied to the direct notice record it belongs to (`direct_notice_id`, the `id` of an
 * entry of `hazard_reports.direct_notices`).
 */
export class HazardDirectNotices1765520000000 implements MigrationInterface {
  name = 'HazardDirectNotices1765520000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE hazard_report_notices
        DROP CONSTRAINT IF EXISTS hazard_report_notices_level_check,
        DROP CONSTRAINT IF EXISTS hazard_report_notices_purpose_check`);
    await q.query(`
      ALTER TABLE hazard_report_notices
        ADD CONSTRAINT hazard_report_notices_level_check
          CHECK (level IN ('county', 'city', 'county_responsible', 'threatened')),
        ADD CONSTRAINT hazard_report_notices_purpose_check
          CHECK (purpose IN ('report', 'escalation', 'direct_notice')),
        ADD COLUMN direct_notice_id uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM hazard_report_notices WHERE purpose = 'direct_notice'`);
    await q.query(`
      ALTER TABLE hazard_report_notices
        DROP CONSTRAINT hazard_report_notices_level_check,
        DROP CONSTRAINT hazard_report_notices_purpose_check,
        DROP COLUMN direct_notice_id`);
    await q.query(`
      ALTER TABLE hazard_report_notices
        ADD CONSTRAINT hazard_report_notices_level_check
          CHECK (level IN ('county', 'city', 'county_responsible')),
        ADD CONSTRAINT hazard_report_notices_purpose_check
          CHECK (purpose IN ('report', 'escalation'))`);
  }
}
