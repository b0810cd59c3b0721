import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * 叫应 step timers grouped per (warning, version, step, due second): the due time of each
 * person's current step lives in Postgres (`deliveries.step_due_at`, NULL when no timer is
 * pending: before the chain starts, and once its last step ran out). One timer job advances every
 * open delivery of its warning and step that is due, found by the first index; the recovery
 * sweep rebuilds lost timer jobs from the second.
 */
export class StepTimers1765200000000 implements MigrationInterface {
  name = 'StepTimers1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries ADD COLUMN step_due_at timestamptz`);
    // Chains running now: their step's start plus its wait (what the per-delivery timer waited for).
    await q.query(`
      UPDATE deliveries d
         SET step_due_at = d.step_started_at + make_interval(secs => (p.steps -> (d.step - 1) ->> 'waitSeconds')::int)
        FROM escalation_policies p
       WHERE p.id = d.policy_id AND d.step > 0 AND d.step <= jsonb_array_length(p.steps)
         AND d.step_started_at IS NOT NULL
         AND d.state NOT IN ('confirmed', 'declined', 'cancelled')`);
    await q.query(
      `CREATE INDEX deliveries_step_due_idx ON deliveries (warning_id, version, step, step_due_at)
        WHERE step_due_at IS NOT NULL AND state NOT IN ('confirmed', 'declined', 'cancelled')`,
    );
    await q.query(
      `CREATE INDEX deliveries_step_overdue_idx ON deliveries (step_due_at)
        WHERE step_due_at IS NOT NULL AND state NOT IN ('confirmed', 'declined', 'cancelled')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX deliveries_step_overdue_idx`);
    await q.query(`DROP INDEX deliveries_step_due_idx`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN step_due_at`);
  }
}
