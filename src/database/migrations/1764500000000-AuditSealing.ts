import type { MigrationInterface, QueryRunner } from 'typeorm';
import { GENESIS_HASH, legacyEventHash } from '../../modules/audit/audit.hash';

/**
 * The sealed audit log (issue 10): events are appended without any global lock, each with the
 * hash of its own content, numbered by the sequence; one sealer later hashes them in id order into
 * blocks chained by hash and signs a checkpoint of the latest block. See docs/audit.md.
 *
 * Existing rows keep their chained hashes (prev_hash + content) and are sealed into blocks like
 * every other event by the first seal; verify still checks their old chain links. `down` chains
 * every event appended since back onto the old chain (trigger disabled for the rewrite), drops the
 * blocks and checkpoints and restores the old constraints.
 */
export class AuditSealing1764500000000 implements MigrationInterface {
  name = 'AuditSealing1764500000000';

  async up(q: QueryRunner): Promise<void> {
    // New events carry no previous hash, and equal contents may share a hash.
    await q.query(`ALTER TABLE audit_events ALTER COLUMN prev_hash DROP NOT NULL`);
    await q.query(`ALTER TABLE audit_events DROP CONSTRAINT audit_events_hash_key`);
    // The sealer's fence reads the sequence's last value: no values cached in a session.
    await q.query(`ALTER SEQUENCE audit_events_id_seq CACHE 1`);
    // A transaction holds its xid before it holds an event id (the sealer's fence relies on it):
    // a statement-level trigger fires before any row's default (nextval) is evaluated, and costs
    // one call per INSERT statement rather than one per row.
    await q.query(`
      CREATE FUNCTION audit_events_take_xid() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_current_xact_id();
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_events_take_xid
        BEFORE INSERT ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_take_xid()`);

    await q.query(`
      CREATE TABLE audit_blocks (
        no bigint PRIMARY KEY CHECK (no >= 1),
        first_id bigint NOT NULL,
        last_id bigint NOT NULL UNIQUE,
        -- events in this block, and in blocks 1..no
        events int NOT NULL CHECK (events >= 1),
        size bigint NOT NULL,
        -- ids in [first_id, last_id] that hold no event (rolled-back transactions)
        gaps int8multirange NOT NULL DEFAULT '{}',
        -- the 32-byte hash of every sealed event, in id order
        hashes bytea NOT NULL,
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL,
        sealed_at timestamptz NOT NULL DEFAULT now(),
        CHECK (first_id <= last_id)
      )`);
    await q.query(`
      CREATE TABLE audit_checkpoints (
        id bigserial PRIMARY KEY,
        block_no bigint NOT NULL,
        last_id bigint NOT NULL,
        size bigint NOT NULL,
        head char(64) NOT NULL,
        at timestamptz NOT NULL,
        key_id char(16) NOT NULL,
        -- HMAC-SHA256 of the checkpoint with a key derived from APP_SECRET
        signature char(64) NOT NULL
      )`);
    await q.query(`
      CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'the audit log is never changed or removed';
      END
      $$`);
    for (const table of ['audit_blocks', 'audit_checkpoints']) {
      await q.query(`
        CREATE TRIGGER ${table}_append_only
          BEFORE UPDATE OR DELETE ON ${table}
          FOR EACH ROW EXECUTE FUNCTION audit_append_only()`);
      await q.query(`
        CREATE TRIGGER ${table}_no_truncate
          BEFORE TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_checkpoints`);
    await q.query(`DROP TABLE audit_blocks`);
    await q.query(`DROP FUNCTION audit_append_only()`);
    await q.query(`DROP TRIGGER audit_events_take_xid ON audit_events`);
    await q.query(`DROP FUNCTION audit_events_take_xid()`);

    // Chain every event appended since the upgrade back onto the old chain, in id order.
    const rows: {
      id: string;
      at: Date;
      actor: string;
      action: string;
      subjectType: string;
      subjectId: string;
      warningId: string | null;
      data: Record<string, unknown>;
      prevHash: string | null;
      hash: string;
    }[] = await q.query(
      `SELECT id::text, at, actor, action, subject_type AS "subjectType", subject_id AS "subjectId",
              warning_id AS "warningId", data, prev_hash AS "prevHash", hash
         FROM audit_events ORDER BY id`,
    );
    let prev = GENESIS_HASH;
    const ids: string[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (const row of rows) {
      if (row.prevHash === null) {
        const hash = legacyEventHash(prev, { ...row, at: new Date(row.at) });
        ids.push(row.id);
        prevs.push(prev);
        hashes.push(hash);
        prev = hash;
      } else {
        prev = row.hash;
      }
    }
    if (ids.length) {
      await q.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`);
      for (let i = 0; i < ids.length; i += 5000) {
        await q.query(
          `UPDATE audit_events e SET prev_hash = t.prev_hash, hash = t.hash
             FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(id, prev_hash, hash)
            WHERE e.id = t.id`,
          [ids.slice(i, i + 5000), prevs.slice(i, i + 5000), hashes.slice(i, i + 5000)],
        );
      }
      await q.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
    }
    await q.query(`ALTER TABLE audit_events ALTER COLUMN prev_hash SET NOT NULL`);
    await q.query(`ALTER TABLE audit_events ADD CONSTRAINT audit_events_hash_key UNIQUE (hash)`);
  }
}
