import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Messages have a purpose, and notices are kept apart from the person's own alert:
 * - `contact_attempts.purpose`: `warning` (the person's own alert, update, release), `notice`
 *   (about someone else: a help request, a person not woken, a silent grid; stopped only when
 *   what it reports is resolved) or `task` (a door-to-door / gong-and-whistle task SMS).
 * - `contact_attempts.covers`: the escalation edges a notice reports, fixed when it is claimed,
 *   so that a digest never repeats what an earlier notice on the same channel already said.
 *   At most one notice per person and channel waits in the queue; it takes every edge that
 *   arrives before it goes out.
 * - `escalations`: the target's acknowledgement of the notice (time, channel, attempt) and when
 *   and how the edge was resolved (acknowledged, the subject answered, the task was done).
 * - `deliveries.entered_at`: when the person entered the chain (the issue for recipients, the
 *   escalation or task for people brought in); response times are measured from it.
 *   `help_requested_at`: a request for help, a flag on top of the first answer.
 * - `answers.about`: an answer to the person's own alert or to a notice.
 * - `manual_tasks.number`: the short number a grid member names in an SMS reply (`1 23`).
 */
export class ChainNotices1764400000000 implements MigrationInterface {
  name = 'ChainNotices1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE contact_attempts DROP CONSTRAINT contact_attempts_purpose_check`);
    await q.query(`UPDATE contact_attempts SET purpose = 'notice' WHERE purpose = 'escalation'`);
    await q.query(`UPDATE contact_attempts SET purpose = 'task' WHERE task_id IS NOT NULL`);
    await q.query(
      `ALTER TABLE contact_attempts ADD CONSTRAINT contact_attempts_purpose_check CHECK (purpose IN ('warning', 'notice', 'task'))`,
    );
    await q.query(`ALTER TABLE contact_attempts ADD COLUMN covers uuid[]`);
    // Notices of a delivery that were sent (or wait) already cover these edges: the cover lookup.
    await q.query(
      `CREATE INDEX contact_attempts_notice_idx ON contact_attempts (delivery_id, channel) WHERE purpose = 'notice'`,
    );
    await q.query(
      `CREATE UNIQUE INDEX contact_attempts_one_queued_notice ON contact_attempts (delivery_id, channel)
        WHERE purpose = 'notice' AND status = 'queued'`,
    );

    await q.query(`
      ALTER TABLE escalations
        ADD COLUMN acknowledged_at timestamptz,
        ADD COLUMN ack_channel text,
        ADD COLUMN ack_attempt_id uuid REFERENCES contact_attempts(id) ON DELETE SET NULL,
        ADD COLUMN resolved_at timestamptz,
        ADD COLUMN resolution text CHECK (resolution IN ('acknowledged', 'subject_answered', 'task_done'))`);
    await q.query(
      `CREATE INDEX escalations_to_open_idx ON escalations (to_delivery_id) WHERE resolved_at IS NULL`,
    );
    await q.query(`CREATE INDEX escalations_from_idx ON escalations (from_delivery_id)`);

    await q.query(
      `ALTER TABLE deliveries ADD COLUMN entered_at timestamptz, ADD COLUMN help_requested_at timestamptz`,
    );
    await q.query(`
      UPDATE deliveries d SET entered_at = CASE WHEN d.escalated_from IS NOT NULL THEN d.created_at ELSE w.created_at END
        FROM warnings w WHERE w.id = d.warning_id`);
    await q.query(
      `ALTER TABLE deliveries ALTER COLUMN entered_at SET DEFAULT now(), ALTER COLUMN entered_at SET NOT NULL`,
    );
    // A help request on record: a flag on top of whatever the first answer was.
    await q.query(`
      UPDATE deliveries d SET help_requested_at = h.at
        FROM (SELECT delivery_id, min(received_at) AS at FROM answers WHERE kind = 'help' AND effective GROUP BY delivery_id) h
       WHERE h.delivery_id = d.id`);

    await q.query(
      `ALTER TABLE answers ADD COLUMN about text NOT NULL DEFAULT 'alert' CHECK (about IN ('alert', 'notice'))`,
    );

    await q.query(`CREATE SEQUENCE manual_task_number_seq`);
    await q.query(
      `ALTER TABLE manual_tasks ADD COLUMN number int NOT NULL DEFAULT nextval('manual_task_number_seq')`,
    );
    await q.query(`ALTER SEQUENCE manual_task_number_seq OWNED BY manual_tasks.number`);
    await q.query(`CREATE UNIQUE INDEX manual_tasks_number_idx ON manual_tasks (number)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE manual_tasks DROP COLUMN number`);
    await q.query(`ALTER TABLE answers DROP COLUMN about`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN entered_at, DROP COLUMN help_requested_at`);
    await q.query(`DROP INDEX escalations_from_idx`);
    await q.query(`DROP INDEX escalations_to_open_idx`);
    await q.query(`
      ALTER TABLE escalations DROP COLUMN acknowledged_at, DROP COLUMN ack_channel, DROP COLUMN ack_attempt_id,
        DROP COLUMN resolved_at, DROP COLUMN resolution`);
    await q.query(`DROP INDEX contact_attempts_one_queued_notice`);
    await q.query(`DROP INDEX contact_attempts_notice_idx`);
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN covers`);
    await q.query(`ALTER TABLE contact_attempts DROP CONSTRAINT contact_attempts_purpose_check`);
    await q.query(`UPDATE contact_attempts SET purpose = 'escalation' WHERE purpose = 'notice'`);
    await q.query(`UPDATE contact_attempts SET purpose = 'warning' WHERE purpose = 'task'`);
    await q.query(
      `ALTER TABLE contact_attempts ADD CONSTRAINT contact_attempts_purpose_check CHECK (purpose IN ('warning', 'escalation'))`,
    );
  }
}
