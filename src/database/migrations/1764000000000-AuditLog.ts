import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tamper-evident audit log: every state change as an append-only event chained by hash
 * (each row carries the hash of the one before). The database itself refuses UPDATE, DELETE and
 * TRUNCATE on the table, so a change needs a superuser disabling the trigger, and the chain shows it.
 */
export class AuditLog1764000000000 implements MigrationInterface {
  name = 'AuditLog1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_events (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        -- token id, 'system', 'escalation', 'provider:twilio', …
        actor text NOT NULL,
        action text NOT NULL,
        subject_type text NOT NULL,
        subject_id text NOT NULL,
        -- no foreign key: the log outlives what it speaks of
        warning_id uuid,
        data jsonb NOT NULL DEFAULT '{}',
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL UNIQUE
      )`);
    await q.query(
      `CREATE INDEX audit_events_warning_idx ON audit_events (warning_id, id) WHERE warning_id IS NOT NULL`,
    );
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'audit events are never changed or removed; append a correcting event instead';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_events_append_only
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_events_no_truncate
        BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_append_only()`);
  }
}
