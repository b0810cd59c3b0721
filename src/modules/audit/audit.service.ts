import { timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import {
  type BlockHeader,
  type Checkpoint,
  GENESIS_HASH,
  type Gaps,
  blockHash,
  canonicalJson,
  checkpointKey,
  contentHash,
  gapsText,
  keyId,
  legacyEventHash,
  parseGaps,
  plainData,
  sealedIds,
  signCheckpoint,
} from './audit.hash';

export { GENESIS_HASH, canonicalJson };

/** One sealer at a time (a transaction-level advisory lock, taken by the sealer only). */
export const AUDIT_SEAL_LOCK_KEY = 7_263_204;
/** Events per block at most. */
export const BLOCK_MAX_EVENTS = 5000;
/** Blocks written by one seal run at most (the next run continues). */
const BLOCKS_PER_RUN = 40;
/** Events read per verify page (whole blocks, so a page may hold a block more). */
const VERIFY_PAGE = 5000;

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
  /** Only events of the legacy chain (before the sealed log) have one. */
  prevHash: string | null;
  /** The event's own hash (legacy events: chained with prevHash). */
  hash: string;
  /** The block that seals it; null while it is in the unsealed tail. */
  block: number | null;
}

export type BrokenReason =
  /** The event's content does not give its hash. */
  | 'hash_mismatch'
  /** The event before this one in the sealed log is gone (`missingId`), or a legacy link broke. */
  | 'prev_mismatch'
  /** A sealed event is gone and no event follows it. */
  | 'missing'
  /** An event sits at an id its block sealed as empty (inserted after sealing). */
  | 'unexpected'
  /** The event's hash is not the one its block sealed (rewritten with its hash, or moved). */
  | 'seal_mismatch'
  /** A block does not follow the one before it or does not recompute to its hash. */
  | 'block_mismatch'
  /** The checkpoint's signature is wrong, or the blocks do not reach the head it names. */
  | 'checkpoint_mismatch'
  /** Blocks exist that no signed checkpoint covers. */
  | 'checkpoint_missing';

export interface VerifyResult {
  ok: boolean;
  /** Events checked: every sealed event and every event of the unsealed tail. */
  checked: number;
  firstBroken?: { id: string; reason: BrokenReason; block?: number; missingId?: string };
  sealed: { blocks: number; events: number; lastId: string | null };
  /** Events not sealed yet: their content is checked, but not their place or presence. */
  unsealed: { count: number; oldestId: string | null; oldestAt: Date | null; oldestAgeS: number };
  /** The latest signed checkpoint, as published (null before the first seal). */
  checkpoint: PublishedCheckpoint | null;
  /** A checkpoint kept outside the database (AUDIT_CHECKPOINT_FILE, or given to verify) checked. */
  published?: { block: number; head: string; ok: boolean };
}

export interface PublishedCheckpoint {
  block: number;
  lastId: string;
  size: number;
  head: string;
  at: string;
  keyId: string;
  signature: string;
}

export interface SealResult {
  /** Blocks written by this run. */
  blocks: number;
  /** Events sealed by this run. */
  events: number;
  /** Ids up to here are certainly committed or never will be (null: no fence passed yet). */
  horizon: string | null;
  /** Another process was sealing: this run did nothing. */
  busy?: boolean;
}

interface Fence {
  /** The sequence's last value when the fence was taken. */
  lastId: number;
  /** An xid assigned after it: every transaction holding an id ≤ lastId has a smaller xid. */
  xid: string;
}

interface BlockRow {
  no: string;
  firstId: string;
  lastId: string;
  events: number;
  size: string;
  gaps: string;
  hashes: Buffer;
  prevHash: string;
  hash: string;
}

interface EventRow {
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
}

/**
 * A data-modifying statement run beside an audit INSERT (`AuditService.appendWith`), written with
 * the placeholders `param` hands out for its values (`$9`, `$10`, … after the events' own).
 */
export type BesideStatement = (param: (value: unknown) => string) => string;

const EVENT_COLUMNS = `id::text AS id, at, actor, action, subject_type AS "subjectType", subject_id AS "subjectId",
  warning_id AS "warningId", data, prev_hash AS "prevHash", hash`;
const BLOCK_COLUMNS = `no::text AS no, first_id::text AS "firstId", last_id::text AS "lastId", events,
  size::text AS size, gaps::text AS gaps, hashes, prev_hash AS "prevHash", hash`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The append-only audit log, sealed Certificate-Transparency style: events are appended in the
 * transaction of the change they record, with no lock and no read of another row, each with the
 * hash of its own content; one sealer at a time later hashes every certainly committed event,
 * in id order, into blocks chained by hash, and signs a checkpoint of the latest block.
 * See docs/audit.md.
 */
@Injectable()
export class AuditService {
  private readonly key: Buffer;
  private readonly keyId: string;
  /** A fence that did not pass within a run's wait: the next run tries it first. */
  private pendingFence?: Fence;
  /** The highest horizon this process has sealed up to. */
  private reached = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Optional() @Inject(ConfigService) config?: ConfigService,
  ) {
    const secret =
      (config?.get<string>('APP_SECRET') as string | undefined) ?? process.env.APP_SECRET ?? '';
    this.key = checkpointKey(secret);
    this.keyId = keyId(this.key);
  }

  /**
   * Appends events in order, in the caller's transaction when given (they commit or vanish with
   * the state change they record), else in a transaction of their own. One INSERT, no lock, no
   * read: concurrent transactions append side by side.
   */
  async append(events: AuditEventInput[], manager?: EntityManager): Promise<void> {
    if (!events.length) return;
    if (manager?.queryRunner?.isTransactionActive) {
      await this.appendIn(manager, events);
      return;
    }
    await this.db.transaction((m) => this.appendIn(m, events));
  }

  /**
   * Appends events in the caller's transaction in one statement with `also`, a data-modifying
   * statement run beside the INSERT: one round trip for a change and its events when the events
   * do not depend on what the change returns. `also` writes its SQL with the placeholders its
   * `param` hands out, so its values are numbered after the events' whatever its text holds.
   * `also` runs alone when there is no event.
   */
  async appendWith(
    m: EntityManager,
    events: AuditEventInput[],
    also?: BesideStatement,
  ): Promise<void> {
    if (!events.length) {
      if (also) {
        const params: unknown[] = [];
        await m.query(
          also((v) => `$${params.push(v)}`),
          params,
        );
      }
      return;
    }
    await this.appendIn(m, events, also);
  }

  private async appendIn(
    m: EntityManager,
    events: AuditEventInput[],
    also?: BesideStatement,
  ): Promise<void> {
    // Millisecond precision: what timestamptz gives back is exactly what was hashed.
    const at = new Date();
    const cols = {
      actor: [] as string[],
      action: [] as string[],
      subjectType: [] as string[],
      subjectId: [] as string[],
      warningId: [] as (string | null)[],
      data: [] as string[],
      hash: [] as string[],
    };
    for (const e of events) {
      const data = plainData(e.data);
      const warningId = e.warningId ?? null;
      cols.actor.push(e.actor);
      cols.action.push(e.action);
      cols.subjectType.push(e.subjectType);
      cols.subjectId.push(e.subjectId);
      cols.warningId.push(warningId);
      cols.data.push(JSON.stringify(data));
      cols.hash.push(contentHash({ ...e, at, warningId, data }));
    }
    // One statement for the whole batch; ids follow the array order. A statement beside it is a
    // CTE of the INSERT (run to completion whether read or not), its parameters after the events'.
    const params: unknown[] = [
      at.toISOString(),
      cols.actor,
      cols.action,
      cols.subjectType,
      cols.subjectId,
      cols.warningId,
      cols.data,
      cols.hash,
    ];
    const before = also ? `WITH also AS (${also((v) => `$${params.push(v)}`)}) ` : '';
    await m.query(
      `${before}INSERT INTO audit_events (at, actor, action, subject_type, subject_id, warning_id, data, hash)
       SELECT $1::timestamptz, t.actor, t.action, t.subject_type, t.subject_id, t.warning_id, t.data::jsonb, t.hash
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[])
              WITH ORDINALITY AS t(actor, action, subject_type, subject_id, warning_id, data, hash, ord)
        ORDER BY t.ord`,
      params,
    );
  }

  // ---------------------------------------------------------------- sealing

  private async fencePassed(fence: Fence, waitMs: number): Promise<boolean> {
    const until = Date.now() + waitMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const [{ passed }] = await this.db.query(
        `SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS passed`,
        [fence.xid],
      );
      if (passed) return true;
      if (Date.now() >= until) return false;
      await sleep(Math.min(pause, Math.max(0, until - Date.now())));
    }
  }

  /**
   * The fence: first the sequence's last value L, then a fresh xid X (its own short transaction).
   * A transaction holding an id ≤ L took it before L was read, and held its xid before its id
   * (the audit_events_take_xid trigger), so its xid is < X. Once no transaction with an xid < X is running,
   * every id ≤ L is committed and visible, or rolled back for good: L is the horizon. A fence
   * that does not pass within `waitMs` is kept and tried first by the next run.
   */
  private async horizon(waitMs: number): Promise<number | null> {
    let horizon: number | null = null;
    if (this.pendingFence && (await this.fencePassed(this.pendingFence, 0))) {
      horizon = this.pendingFence.lastId;
      this.pendingFence = undefined;
    }
    const [{ last }] = await this.db.query(
      `SELECT pg_sequence_last_value('audit_events_id_seq')::text AS last`,
    );
    // Nothing appended since the last horizon: no fence needed (and no xid spent).
    if (last === null || Number(last) <= Math.max(horizon ?? 0, this.reached)) return horizon;
    const [{ xid }] = await this.db.query(`SELECT pg_current_xact_id()::text AS xid`);
    const fence: Fence = { lastId: Number(last), xid };
    if (await this.fencePassed(fence, waitMs)) return fence.lastId;
    // A transaction that may hold an id below the fence is still running: tried again next run.
    this.pendingFence ??= fence;
    return horizon;
  }

  /**
   * Seals every certainly committed event not sealed yet into blocks, and signs a checkpoint of
   * the latest. Safe to call from any number of processes at once (one seals, the others return
   * `busy`); safe to interrupt (a run is one transaction). `waitMs`: how long to wait for
   * transactions still running that may hold ids below the fence.
   */
  async seal(opts: { waitMs?: number } = {}): Promise<SealResult> {
    const horizon = await this.horizon(opts.waitMs ?? 250);
    if (horizon === null || horizon <= this.reached)
      return { blocks: 0, events: 0, horizon: this.reached ? String(this.reached) : null };
    let checkpoint: PublishedCheckpoint | null = null;
    let reached = 0;
    const result = await this.db.transaction(async (m): Promise<SealResult> => {
      const [{ locked }] = await m.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [
        AUDIT_SEAL_LOCK_KEY,
      ]);
      if (!locked) return { blocks: 0, events: 0, horizon: String(horizon), busy: true };
      const [last]: { no: string; lastId: string; size: string; hash: string }[] = await m.query(
        `SELECT no::text AS no, last_id::text AS "lastId", size::text AS size, hash
           FROM audit_blocks ORDER BY audit_blocks.no DESC LIMIT 1`,
      );
      let no = last ? Number(last.no) : 0;
      let lastId = last ? Number(last.lastId) : 0;
      let size = last ? Number(last.size) : 0;
      let prevHash = last?.hash ?? GENESIS_HASH;
      let blocks = 0;
      let events = 0;
      let done = lastId >= horizon;
      while (!done && blocks < BLOCKS_PER_RUN) {
        const rows: { id: string; hash: string }[] = await m.query(
          `SELECT id::text AS id, hash FROM audit_events
            WHERE id > $1::bigint AND id <= $2::bigint ORDER BY audit_events.id LIMIT $3`,
          [lastId, horizon, BLOCK_MAX_EVENTS],
        );
        // Only rolled-back ids up to the horizon: the next block's range takes them in as gaps.
        if (!rows.length) {
          done = true;
          break;
        }
        const header: BlockHeader = {
          no: no + 1,
          firstId: lastId + 1,
          lastId: Number(rows[rows.length - 1].id),
          events: rows.length,
          size: size + rows.length,
          gaps: [],
          prevHash,
        };
        let expected = header.firstId;
        for (const r of rows) {
          const id = Number(r.id);
          if (id > expected) header.gaps.push([expected, id]);
          expected = id + 1;
        }
        const hashes = Buffer.concat(rows.map((r) => Buffer.from(r.hash, 'hex')));
        const hash = blockHash(header, hashes);
        await m.query(
          `INSERT INTO audit_blocks (no, first_id, last_id, events, size, gaps, hashes, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6::int8multirange, $7, $8, $9)`,
          [
            header.no,
            header.firstId,
            header.lastId,
            header.events,
            header.size,
            gapsText(header.gaps),
            hashes,
            prevHash,
            hash,
          ],
        );
        ({ no, lastId, size } = header);
        prevHash = hash;
        blocks++;
        events += rows.length;
        done = rows.length < BLOCK_MAX_EVENTS;
      }
      reached = done ? horizon : lastId;
      if (blocks) {
        const [{ at }] = await m.query(`SELECT date_trunc('milliseconds', now()) AS at`);
        const c: Checkpoint = { block: no, lastId, size, head: prevHash, at: new Date(at) };
        const signature = signCheckpoint(this.key, c);
        await m.query(
          `INSERT INTO audit_checkpoints (block_no, last_id, size, head, at, key_id, signature)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [c.block, c.lastId, c.size, c.head, c.at, this.keyId, signature],
        );
        checkpoint = this.publishedView(c, this.keyId, signature);
      }
      return { blocks, events, horizon: String(horizon) };
    });
    if (!result.busy) this.reached = Math.max(this.reached, reached);
    if (checkpoint) await this.writeCheckpointFile(checkpoint);
    return result;
  }

  private publishedView(c: Checkpoint, kid: string, signature: string): PublishedCheckpoint {
    return {
      block: c.block,
      lastId: String(c.lastId),
      size: c.size,
      head: c.head,
      at: c.at.toISOString(),
      keyId: kid,
      signature,
    };
  }

  /** AUDIT_CHECKPOINT_FILE: the latest checkpoint, also kept outside the database. */
  private checkpointFile(): string | null {
    const file = process.env.AUDIT_CHECKPOINT_FILE;
    return file ? path.resolve(file) : null;
  }

  private async writeCheckpointFile(c: PublishedCheckpoint): Promise<void> {
    const file = this.checkpointFile();
    if (!file) return;
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(c, null, 2)}\n`);
    await rename(tmp, file);
  }

  private async readCheckpointFile(): Promise<PublishedCheckpoint | null> {
    const file = this.checkpointFile();
    if (!file) return null;
    try {
      return JSON.parse(await readFile(file, 'utf8')) as PublishedCheckpoint;
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- verify

  /**
   * Seals what is certainly committed (unless `seal: false`), then checks every block (its link,
   * its hash, its events: present, unchanged, in place), the latest checkpoint's signature and
   * head, a published checkpoint when one is given or kept in AUDIT_CHECKPOINT_FILE, and the
   * content of every event of the unsealed tail. Names the first thing that does not hold.
   */
  async verify(
    opts: { seal?: boolean; waitMs?: number; published?: { block: number; head: string } } = {},
  ): Promise<VerifyResult> {
    if (opts.seal !== false) await this.seal({ waitMs: opts.waitMs ?? 2000 });
    const published = opts.published ?? (await this.readCheckpointFile());

    let firstBroken: VerifyResult['firstBroken'];
    const broken = (b: NonNullable<VerifyResult['firstBroken']>) => {
      firstBroken ??= b;
    };

    // The latest checkpoint and the latest block, in one snapshot (a seal writes both at once):
    // the blocks it covers are checked, anything sealed later counts as the tail.
    const [head] = await this.db.query(
      `SELECT (SELECT max(no)::text FROM audit_blocks) AS "maxBlock", c.*
         FROM (SELECT 1) one LEFT JOIN LATERAL (
           SELECT block_no::text AS block, last_id::text AS "lastId", size::text AS size, head, at,
                  key_id AS "keyId", signature
             FROM audit_checkpoints ORDER BY id DESC LIMIT 1) c ON true`,
    );
    const maxBlock = head.maxBlock === null ? 0 : Number(head.maxBlock);
    const cp: Checkpoint | null =
      head.block === null
        ? null
        : {
            block: Number(head.block),
            lastId: Number(head.lastId),
            size: Number(head.size),
            head: head.head,
            at: new Date(head.at),
          };
    const ceiling = cp?.block ?? 0;
    if (maxBlock > ceiling)
      broken({ id: String(cp?.lastId ?? 0), reason: 'checkpoint_missing', block: ceiling + 1 });

    let checked = 0;
    let legacyPrev = GENESIS_HASH;
    /** A sealed id found missing, waiting for the next present event to name. */
    let missing: number | null = null;
    let publishedHead: string | undefined;

    const checkContent = (row: EventRow) => {
      const content = { ...row, at: new Date(row.at) };
      if (row.prevHash !== null) {
        if (row.prevHash !== legacyPrev) broken({ id: row.id, reason: 'prev_mismatch' });
        if (legacyEventHash(row.prevHash, content) !== row.hash)
          broken({ id: row.id, reason: 'hash_mismatch' });
        legacyPrev = row.hash;
      } else if (contentHash(content) !== row.hash) {
        broken({ id: row.id, reason: 'hash_mismatch' });
      }
    };
    const present = (row: EventRow) => {
      if (missing !== null) {
        broken({ id: row.id, reason: 'prev_mismatch', missingId: String(missing) });
        missing = null;
      }
      checkContent(row);
      checked++;
    };

    // Blocks 1..ceiling in order, whole blocks of about a page of events at a time.
    let expectNo = 1;
    let prevHash = GENESIS_HASH;
    let prevLastId = 0;
    let size = 0;
    let blocks: BlockRow[] = [];
    let blockCursor = 0;
    for (;;) {
      if (!blocks.length) {
        blocks = await this.db.query(
          `SELECT ${BLOCK_COLUMNS} FROM audit_blocks WHERE no > $1 AND no <= $2 ORDER BY audit_blocks.no LIMIT 200`,
          [blockCursor, ceiling],
        );
        if (!blocks.length) break;
        blockCursor = Number(blocks[blocks.length - 1].no);
      }
      let take = 0;
      let events = 0;
      while (take < blocks.length && (take === 0 || events + blocks[take].events <= VERIFY_PAGE))
        events += blocks[take++].events;
      const page = blocks.slice(0, take);
      blocks = blocks.slice(take);
      const rows: EventRow[] = await this.db.query(
        `SELECT ${EVENT_COLUMNS} FROM audit_events
          WHERE id BETWEEN $1::bigint AND $2::bigint ORDER BY audit_events.id`,
        [page[0].firstId, page[page.length - 1].lastId],
      );
      let r = 0;
      for (const b of page) {
        const header: BlockHeader = {
          no: Number(b.no),
          firstId: Number(b.firstId),
          lastId: Number(b.lastId),
          events: b.events,
          size: Number(b.size),
          gaps: parseGaps(b.gaps),
          prevHash: b.prevHash,
        };
        if (
          header.no !== expectNo ||
          header.prevHash !== prevHash ||
          header.firstId !== prevLastId + 1 ||
          header.size !== size + header.events ||
          b.hashes.length !== 32 * header.events ||
          blockHash(header, b.hashes) !== b.hash
        ) {
          broken({ id: b.firstId, reason: 'block_mismatch', block: header.no });
        }
        if (published && header.no === Number(published.block)) publishedHead = b.hash;
        expectNo = header.no + 1;
        prevHash = b.hash;
        prevLastId = header.lastId;
        size = header.size;

        let i = 0;
        for (const id of sealedIds(header.firstId, header.lastId, header.gaps)) {
          // A row before this sealed id sits in a gap: inserted after sealing.
          while (r < rows.length && Number(rows[r].id) < id) {
            broken({ id: rows[r].id, reason: 'unexpected', block: header.no });
            checkContent(rows[r++]);
          }
          const sealedHash = b.hashes.subarray(32 * i, 32 * i + 32).toString('hex');
          i++;
          if (r < rows.length && Number(rows[r].id) === id) {
            const row = rows[r++];
            present(row);
            if (row.hash !== sealedHash) broken({ id: row.id, reason: 'seal_mismatch' });
          } else {
            missing ??= id;
          }
        }
        if (i !== header.events)
          broken({ id: b.firstId, reason: 'block_mismatch', block: header.no });
        while (r < rows.length && Number(rows[r].id) <= header.lastId) {
          broken({ id: rows[r].id, reason: 'unexpected', block: header.no });
          checkContent(rows[r++]);
        }
      }
    }
    const sealed = {
      blocks: expectNo - 1,
      events: size,
      lastId: prevLastId ? String(prevLastId) : null,
    };

    // The checkpoint: signed with our key, naming the block reached and its hash.
    let checkpoint: PublishedCheckpoint | null = null;
    if (cp) {
      checkpoint = this.publishedView(cp, head.keyId, head.signature);
      const expected = Buffer.from(signCheckpoint(this.key, cp), 'hex');
      const given = Buffer.from(String(head.signature), 'hex');
      const signed = given.length === expected.length && timingSafeEqual(given, expected);
      if (
        !signed ||
        sealed.blocks !== cp.block ||
        cp.head !== prevHash ||
        cp.lastId !== prevLastId ||
        cp.size !== size
      )
        broken({ id: String(cp.lastId), reason: 'checkpoint_mismatch', block: cp.block });
    }

    // The unsealed tail: content only (its order and presence are not fixed yet).
    let tail = { count: 0, oldestId: null as string | null, oldestAt: null as Date | null };
    for (let cursor = prevLastId; ;) {
      const rows: EventRow[] = await this.db.query(
        `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE id > $1::bigint ORDER BY audit_events.id LIMIT $2`,
        [cursor, VERIFY_PAGE],
      );
      for (const row of rows) {
        if (!tail.oldestId) tail = { ...tail, oldestId: row.id, oldestAt: new Date(row.at) };
        tail.count++;
        present(row);
      }
      if (rows.length < VERIFY_PAGE) break;
      cursor = Number(rows[rows.length - 1].id);
    }
    if (missing !== null) broken({ id: String(missing), reason: 'missing' });

    // A checkpoint published outside the database: the blocks must still reach its head.
    let publishedResult: VerifyResult['published'];
    if (published) {
      const block = Number(published.block);
      const ok = publishedHead === published.head;
      publishedResult = { block, head: published.head, ok };
      if (!ok) broken({ id: String(block), reason: 'checkpoint_mismatch', block });
    }

    return {
      ok: !firstBroken,
      checked,
      ...(firstBroken ? { firstBroken } : {}),
      sealed,
      unsealed: {
        ...tail,
        oldestAgeS: tail.oldestAt ? Math.max(0, (Date.now() - tail.oldestAt.getTime()) / 1000) : 0,
      },
      checkpoint,
      ...(publishedResult ? { published: publishedResult } : {}),
    };
  }

  /** Events in log order, optionally of one warning, with the block that seals each. */
  async list(q: { warningId?: string; limit: number; offset: number }) {
    const params: unknown[] = [q.limit, q.offset];
    const where = q.warningId ? `WHERE warning_id = $3` : '';
    if (q.warningId) params.push(q.warningId);
    const [items, [{ total }]] = await Promise.all([
      this.db.query(
        `SELECT ${EVENT_COLUMNS},
                (SELECT b.no::int FROM audit_blocks b WHERE b.last_id >= e.id ORDER BY b.last_id LIMIT 1) AS block
           FROM audit_events e ${where} ORDER BY e.id LIMIT $1 OFFSET $2`,
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

export type { Gaps };
