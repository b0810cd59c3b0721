import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/** Serialises appenders: one chain, one writer at a time (held until the appending transaction ends). */
export const AUDIT_LOCK_KEY = 7_263_202;
/** The previous hash of the very first event. */
export const GENESIS_HASH = '0'.repeat(64);
const VERIFY_PAGE = 2000;

export interface AuditEventInput {
  /** Token id, 'system', 'escalation', 'provider:twilio', … */
  actor: string;
  /** warning.issued, attempt.sent, answer.recorded, … */
  action: string;
  subjectType: string;
  subjectId: string;
  warningId?: string | null;
  /** Ids, codes and counts only: never phone numbers, secrets or tokens. */
  data?: Record<string, unknown>;
}

export interface AuditEventView {
  id: string;
  at: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  warningId: string | null;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBroken?: { id: string; reason: 'hash_mismatch' | 'prev_mismatch' };
}

/** JSON with object keys sorted at every depth (jsonb does not keep key order). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

/** What the stored data reads back as: plain JSON (dates as strings, no undefined). */
function plainData(data: Record<string, unknown> | undefined): Record<string, unknown> {
  return data ? (JSON.parse(JSON.stringify(data)) as Record<string, unknown>) : {};
}

export function eventHash(
  prevHash: string,
  e: {
    at: Date;
    actor: string;
    action: string;
    subjectType: string;
    subjectId: string;
    warningId: string | null;
    data: Record<string, unknown>;
  },
): string {
  const body = canonicalJson({
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    warningId: e.warningId,
    data: e.data,
  });
  return createHash('sha256').update(prevHash).update(body).digest('hex');
}

const EVENT_COLUMNS = `id::text AS id, at, actor, action, subject_type AS "subjectType", subject_id AS "subjectId",
  warning_id AS "warningId", data, prev_hash AS "prevHash", hash`;

/**
 * The append-only audit log: each event carries the hash of the previous one, so a row changed
 * or removed behind the application's back breaks the chain at that row.
 */
@Injectable()
export class AuditService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Appends events in order, in the caller's transaction when given (they commit or vanish with
   * the state change they record), else in a transaction of their own. Call it last in a
   * transaction: the chain lock is held until commit.
   */
  async append(events: AuditEventInput[], manager?: EntityManager): Promise<void> {
    if (!events.length) return;
    if (manager?.queryRunner?.isTransactionActive) {
      await this.appendIn(manager, events);
      return;
    }
    await this.db.transaction((m) => this.appendIn(m, events));
  }

  private async appendIn(m: EntityManager, events: AuditEventInput[]): Promise<void> {
    await m.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
    const [last] = await m.query(`SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1`);
    let prev: string = last?.hash ?? GENESIS_HASH;
    // Millisecond precision: what timestamptz gives back is exactly what was hashed.
    const at = new Date();
    const cols = {
      actor: [] as string[],
      action: [] as string[],
      subjectType: [] as string[],
      subjectId: [] as string[],
      warningId: [] as (string | null)[],
      data: [] as string[],
      prev: [] as string[],
      hash: [] as string[],
    };
    for (const e of events) {
      const data = plainData(e.data);
      const warningId = e.warningId ?? null;
      const hash = eventHash(prev, {
        at,
        actor: e.actor,
        action: e.action,
        subjectType: e.subjectType,
        subjectId: e.subjectId,
        warningId,
        data,
      });
      cols.actor.push(e.actor);
      cols.action.push(e.action);
      cols.subjectType.push(e.subjectType);
      cols.subjectId.push(e.subjectId);
      cols.warningId.push(warningId);
      cols.data.push(JSON.stringify(data));
      cols.prev.push(prev);
      cols.hash.push(hash);
      prev = hash;
    }
    // One statement for the whole batch; ids follow the array order (the chain order).
    await m.query(
      `INSERT INTO audit_events (at, actor, action, subject_type, subject_id, warning_id, data, prev_hash, hash)
       SELECT $1::timestamptz, t.actor, t.action, t.subject_type, t.subject_id, t.warning_id, t.data::jsonb, t.prev_hash, t.hash
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[], $9::text[])
              WITH ORDINALITY AS t(actor, action, subject_type, subject_id, warning_id, data, prev_hash, hash, ord)
        ORDER BY t.ord`,
      [
        at.toISOString(),
        cols.actor,
        cols.action,
        cols.subjectType,
        cols.subjectId,
        cols.warningId,
        cols.data,
        cols.prev,
        cols.hash,
      ],
    );
  }

  /** Recomputes the whole chain in id order, a page at a time; names the first broken link. */
  async verify(): Promise<VerifyResult> {
    let prev = GENESIS_HASH;
    let lastId = '0';
    let checked = 0;
    for (;;) {
      const page: AuditEventView[] = await this.db.query(
        `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE id > $1::bigint ORDER BY audit_events.id LIMIT $2`,
        [lastId, VERIFY_PAGE],
      );
      for (const row of page) {
        if (row.prevHash !== prev) {
          return { ok: false, checked, firstBroken: { id: row.id, reason: 'prev_mismatch' } };
        }
        const hash = eventHash(prev, { ...row, at: new Date(row.at) });
        if (hash !== row.hash) {
          return { ok: false, checked, firstBroken: { id: row.id, reason: 'hash_mismatch' } };
        }
        checked++;
        prev = row.hash;
      }
      if (page.length < VERIFY_PAGE) return { ok: true, checked };
      lastId = page[page.length - 1].id;
    }
  }

  /** Events in chain order, optionally of one warning. */
  async list(q: { warningId?: string; limit: number; offset: number }) {
    const params: unknown[] = [q.limit, q.offset];
    const where = q.warningId ? `WHERE warning_id = $3` : '';
    if (q.warningId) params.push(q.warningId);
    const [items, [{ total }]] = await Promise.all([
      this.db.query(
        `SELECT ${EVENT_COLUMNS} FROM audit_events ${where} ORDER BY audit_events.id LIMIT $1 OFFSET $2`,
        params,
      ) as Promise<AuditEventView[]>,
      this.db.query(
        `SELECT count(*)::int AS total FROM audit_events ${q.warningId ? 'WHERE warning_id = $1' : ''}`,
        q.warningId ? [q.warningId] : [],
      ) as Promise<{ total: number }[]>,
    ]);
    return { total, limit: q.limit, offset: q.offset, items };
  }
}
