import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * 险情上报 (hazard reports): a report from the field or the duty office, graded by the people to
 * relocate; the duty officers it notified (each SMS recorded in `hazard_report_notices`), their
 * acknowledgements (one per level: county, city; `notified_at` is set when the first notices are
 * claimed, so that a report whose process died before notifying is notified by the sweep), the escalation at the 45-minute mark, the
 * imminent warning drafted from it and the direct notices given on site.
 */
export class HazardReports1764800000000 implements MigrationInterface {
  name = 'HazardReports1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE hazard_reports (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        hazard_point varchar(64) COLLATE "C" REFERENCES hazard_sites(code),
        division_code varchar(12) COLLATE "C" NOT NULL REFERENCES divisions(code),
        location text,
        observed text NOT NULL,
        people_threatened int NOT NULL CHECK (people_threatened >= 0),
        possible_loss numeric(14, 2) CHECK (possible_loss >= 0),
        photos text[] NOT NULL DEFAULT '{}',
        reporter jsonb NOT NULL,
        grade text NOT NULL CHECK (grade IN ('特大型', '大型', '中型', '小型')),
        state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
        reported_by_token text NOT NULL,
        reporter_grid varchar(32) COLLATE "C",
        created_at timestamptz NOT NULL DEFAULT now(),
        notified_at timestamptz,
        city_deadline_at timestamptz,
        escalate_at timestamptz,
        escalated_at timestamptz,
        flagged_at timestamptz,
        warning_id uuid REFERENCES warnings(id),
        -- The draft awaiting a second duty officer when the release policy applies (warning_drafts).
        warning_draft_id uuid,
        direct_notices jsonb NOT NULL DEFAULT '[]'
      )`);
    await q.query(`CREATE INDEX hazard_reports_state_idx ON hazard_reports (state, created_at)`);
    await q.query(
      `CREATE INDEX hazard_reports_notify_idx ON hazard_reports (created_at) WHERE notified_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX hazard_reports_escalate_idx ON hazard_reports (escalate_at) WHERE escalated_at IS NULL`,
    );
    await q.query(`
      CREATE TABLE hazard_report_notices (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        report_id uuid NOT NULL REFERENCES hazard_reports(id),
        person_id uuid REFERENCES people(id) ON DELETE SET NULL,
        level text NOT NULL CHECK (level IN ('county', 'city', 'county_responsible')),
        purpose text NOT NULL CHECK (purpose IN ('report', 'escalation')),
        channel text NOT NULL,
        status text NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
        provider_id text,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX hazard_report_notices_report_idx ON hazard_report_notices (report_id)`,
    );
    await q.query(`
      CREATE TABLE hazard_report_acks (
        report_id uuid NOT NULL REFERENCES hazard_reports(id),
        level text NOT NULL CHECK (level IN ('county', 'city')),
        token_id text,
        by_name text NOT NULL,
        channel text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (report_id, level)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE hazard_report_acks`);
    await q.query(`DROP TABLE hazard_report_notices`);
    await q.query(`DROP TABLE hazard_reports`);
  }
}
