import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource, type QueryRunner } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { MIGRATIONS } from '../../src/database/migrations';
import { AuditSealing1764500000000 } from '../../src/database/migrations/1764500000000-AuditSealing';
import {
  GENESIS_HASH,
  blockHash,
  checkpointKey,
  contentHash,
  legacyEventHash,
  parseGaps,
  signCheckpoint,
} from '../../src/modules/audit/audit.hash';
import {
  AUDIT_SEAL_LOCK_KEY,
  type AuditEventInput,
  AuditService,
} from '../../src/modules/audit/audit.service';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

process.env.APP_SECRET = 'audit-seal-e2e-secret'.padEnd(40, 's');

/** The audit log alone: a fresh database with the migrations, and the service over it. */
interface Log {
  db: TestDatabase;
  ds: DataSource;
  audit: AuditService;
  close(): Promise<void>;
}

async function openLog(migrations = MIGRATIONS, existing?: TestDatabase): Promise<Log> {
  const db = existing ?? (await createTestDatabase('audit_seal'));
  const ds = new DataSource({ ...buildDataSourceOptions(db.url), migrations });
  await ds.initialize();
  await runMigrations(ds);
  return {
    db,
    ds,
    audit: new AuditService(ds),
    close: async () => {
      if (ds.isInitialized) await ds.destroy();
      await db.drop();
    },
  };
}

const events = (n: number, tag: string): AuditEventInput[] =>
  Array.from({ length: n }, (_, i) => ({
    actor: 'test',
    action: `test.${tag}`,
    subjectType: 'test',
    subjectId: `${tag}-${i}`,
    data: { i, tag },
  }));

const idsOf = async (q: DataSource | QueryRunner, tag: string): Promise<number[]> =>
  (
    await q.query(`SELECT id::text FROM audit_events WHERE action = $1 ORDER BY audit_events.id`, [
      `test.${tag}`,
    ])
  ).map((r: { id: string }) => Number(r.id));

const lastSealedId = async (ds: DataSource): Promise<number> =>
  Number((await ds.query(`SELECT coalesce(max(last_id), 0)::text AS id FROM audit_blocks`))[0].id);

/** Resolves with the promise's value, or rejects once `ms` have passed. */
const within = <T>(ms: number, p: Promise<T>, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms).unref(),
    ),
  ]);

/** A change behind the application's back: the append-only triggers off for one transaction. */
async function tamper(ds: DataSource, ...statements: [string, unknown[]?][]): Promise<void> {
  const tables = ['audit_events', 'audit_blocks', 'audit_checkpoints'];
  await ds.transaction(async (m) => {
    for (const t of tables) await m.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
    for (const [sql, params] of statements) await m.query(sql, params ?? []);
    for (const t of tables) await m.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
  });
}

describe('audit log: appends without a global lock, sealed once certainly committed', () => {
  let log: Log;
  beforeAll(async () => {
    log = await openLog();
  });
  afterAll(() => log.close());

  it('lets two transactions append at once, and seals neither while the first is still open', async () => {
    const { ds, audit } = log;
    const open = ds.createQueryRunner();
    await open.connect();
    await open.startTransaction();
    try {
      await audit.append(events(3, 'open'), open.manager);
      const openIds = await idsOf(open, 'open');
      // With one lock for every appender this would wait for the open transaction to end.
      await within(5000, audit.append(events(2, 'other')), 'a second append');
      const otherIds = await idsOf(ds, 'other');
      expect(otherIds).toHaveLength(2);
      expect(Math.min(...otherIds)).toBeGreaterThan(Math.max(...openIds));

      // The open transaction may still commit below the other's ids: nothing past it is sealed,
      // and its ids are not taken for gaps.
      await audit.seal({ waitMs: 100 });
      expect(await lastSealedId(ds)).toBeLessThan(Math.min(...openIds));
      const during = await audit.verify({ waitMs: 100 });
      expect(during).toMatchObject({ ok: true });
      expect(during.unsealed.count).toBeGreaterThanOrEqual(2);
      expect(during.checked).toBe(during.sealed.events + during.unsealed.count);
      expect(Number(during.unsealed.oldestId)).toBeLessThanOrEqual(Math.min(...otherIds));
      expect(during.unsealed.oldestAgeS).toBeGreaterThanOrEqual(0);

      await open.commitTransaction();
    } finally {
      if (open.isTransactionActive) await open.rollbackTransaction();
      await open.release();
    }
    const after = await audit.verify();
    expect(after).toMatchObject({ ok: true, unsealed: { count: 0 } });
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM audit_events`);
    expect(after.sealed.events).toBe(n);
    expect(after.checked).toBe(n);
    const blocks = await ds.query(`SELECT gaps::text AS gaps FROM audit_blocks`);
    expect(blocks.flatMap((b: { gaps: string }) => parseGaps(b.gaps))).toEqual([]);
  });

  it('runs a statement beside the append with its own values, a `$` in its text left alone', async () => {
    const { ds, audit } = log;
    await ds.query(`CREATE TABLE beside_test (id int PRIMARY KEY, note text)`);
    await ds.query(`INSERT INTO beside_test VALUES (1, NULL), (2, NULL)`);
    await ds.transaction((m) =>
      audit.appendWith(
        m,
        events(2, 'beside'),
        // '$1' and '$2' in literals are text, not placeholders: they must reach the row unchanged.
        (param) =>
          `UPDATE beside_test SET note = '$1 ' || ${param('kept')} || ' $2' WHERE id = ${param(2)}`,
      ),
    );
    expect(await ds.query(`SELECT id, note FROM beside_test ORDER BY id`)).toEqual([
      { id: 1, note: null },
      { id: 2, note: '$1 kept $2' },
    ]);
    expect(await idsOf(ds, 'beside')).toHaveLength(2);
    // With no event, the statement runs alone with the same values.
    await ds.transaction((m) =>
      audit.appendWith(
        m,
        [],
        (param) => `UPDATE beside_test SET note = ${param('alone')} WHERE id = ${param(1)}`,
      ),
    );
    expect((await ds.query(`SELECT note FROM beside_test WHERE id = 1`))[0].note).toBe('alone');
    await ds.query(`DROP TABLE beside_test`);
  });

  it('seals the ids of rolled-back appends as gaps, and only those', async () => {
    const { ds, audit } = log;
    const gone = ds.createQueryRunner();
    await gone.connect();
    await gone.startTransaction();
    await audit.append(events(4, 'rolledback'), gone.manager);
    const goneIds = await idsOf(gone, 'rolledback');
    await audit.append(events(2, 'kept'));
    await gone.rollbackTransaction();
    await gone.release();

    const res = await audit.verify();
    expect(res).toMatchObject({ ok: true, unsealed: { count: 0 } });
    const gaps = (await ds.query(`SELECT gaps::text AS gaps FROM audit_blocks`)).flatMap(
      (b: { gaps: string }) => parseGaps(b.gaps),
    );
    expect(gaps).toEqual([[goneIds[0], goneIds[3] + 1]]);
  });

  it('takes many concurrent writers, each appending small batches in its own transaction', async () => {
    const { ds, audit } = log;
    const [{ n: before }] = await ds.query(`SELECT count(*)::int AS n FROM audit_events`);
    const writers = Array.from({ length: 20 }, (_, w) =>
      (async () => {
        for (let k = 0; k < 5; k++) {
          await ds.transaction(async (m) => {
            await audit.append(events(3, `w${w}`), m);
            await new Promise((r) => setTimeout(r, (w * 7 + k * 3) % 11));
          });
          // The sealer runs alongside, as it does in the gateway.
          if (w === 0) await audit.seal({ waitMs: 20 });
        }
      })(),
    );
    await within(30_000, Promise.all(writers), 'twenty writers');
    const res = await audit.verify();
    expect(res).toMatchObject({ ok: true, unsealed: { count: 0 } });
    expect(res.sealed.events).toBe(before + 20 * 5 * 3);
  });

  it('seals with one sealer at a time: another holding the lock makes a run step aside', async () => {
    const { ds, audit } = log;
    await audit.append(events(2, 'locked'));
    const holder = ds.createQueryRunner();
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock($1)`, [AUDIT_SEAL_LOCK_KEY]);
      expect(await audit.seal()).toMatchObject({ blocks: 0, busy: true });
    } finally {
      await holder.query(`SELECT pg_advisory_unlock($1)`, [AUDIT_SEAL_LOCK_KEY]);
      await holder.release();
    }
    // Two processes sealing together: one block chain, no event twice.
    const other = new DataSource(buildDataSourceOptions(log.db.url));
    await other.initialize();
    try {
      await audit.append(events(5, 'race'));
      await Promise.all([audit.seal(), new AuditService(other).seal(), audit.seal()]);
    } finally {
      await other.destroy();
    }
    const res = await audit.verify();
    expect(res).toMatchObject({ ok: true, unsealed: { count: 0 } });
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM audit_events`);
    expect(res.sealed.events).toBe(n);
  });

  it('loses nothing to a crash between append and seal, or in the middle of a seal', async () => {
    // A process appends and dies before any seal: the events are in the database, and another
    // process's sealer takes them.
    const dying = new DataSource(buildDataSourceOptions(log.db.url));
    await dying.initialize();
    await new AuditService(dying).append(events(3, 'crash'));
    await dying.destroy();
    const crashIds = await idsOf(log.ds, 'crash');
    expect(crashIds).toHaveLength(3);

    // A sealer killed after writing its blocks, before its checkpoint: its whole run is gone.
    const victim = new DataSource(buildDataSourceOptions(log.db.url));
    await victim.initialize();
    const blocker = log.ds.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    const blocksBefore = await log.ds.query(`SELECT count(*)::int AS n FROM audit_blocks`);
    try {
      // SHARE blocks the checkpoint's INSERT without taking an xid (ACCESS EXCLUSIVE would, and
      // an open transaction with an xid holds every seal back).
      await blocker.query(`LOCK TABLE audit_checkpoints IN SHARE MODE`);
      const sealing = new AuditService(victim).seal({ waitMs: 2000 });
      sealing.catch(() => undefined);
      const pid = await within(
        10_000,
        (async () => {
          for (;;) {
            const [row] = await log.ds.query(
              `SELECT pid FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO audit_checkpoints%'`,
            );
            if (row) return row.pid as number;
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
        'the sealer waiting on the checkpoint',
      );
      await log.ds.query(`SELECT pg_terminate_backend($1)`, [pid]);
      await expect(sealing).rejects.toThrow();
    } finally {
      await blocker.rollbackTransaction();
      await blocker.release();
      await victim.destroy().catch(() => undefined);
    }
    expect(await log.ds.query(`SELECT count(*)::int AS n FROM audit_blocks`)).toEqual(blocksBefore);

    const res = await log.audit.verify();
    expect(res).toMatchObject({ ok: true, unsealed: { count: 0 } });
    expect(await lastSealedId(log.ds)).toBeGreaterThanOrEqual(Math.max(...crashIds));
  });

  it('keeps the blocks and checkpoints append-only too', async () => {
    for (const table of ['audit_blocks', 'audit_checkpoints']) {
      await expect(log.ds.query(`UPDATE ${table} SET last_id = last_id + 1`)).rejects.toThrow(
        new RegExp(`${table} is append-only: UPDATE refused`),
      );
      await expect(log.ds.query(`DELETE FROM ${table}`)).rejects.toThrow(
        new RegExp(`${table} is append-only: DELETE refused`),
      );
      await expect(log.ds.query(`TRUNCATE ${table}`)).rejects.toThrow(
        new RegExp(`${table} is append-only: TRUNCATE refused`),
      );
    }
    expect((await log.audit.verify()).ok).toBe(true);
  });
});

describe('audit log: tampering with sealed events, blocks and checkpoints is detected', () => {
  let log: Log;
  /** Ids of the events of three sealed blocks, and an unsealed tail of two. */
  let sealed: number[];
  let tail: number[];
  let gap: number;

  beforeEach(async () => {
    log = await openLog();
    const { ds, audit } = log;
    await audit.append(events(4, 'a'));
    await audit.seal();
    // A rolled-back append: a gap in the second block.
    await ds
      .transaction(async (m) => {
        await audit.append(events(1, 'gone'), m);
        throw new Error('rollback');
      })
      .catch(() => undefined);
    await audit.append(events(4, 'b'));
    await audit.seal();
    await audit.append(events(4, 'c'));
    await audit.seal();
    sealed = [...(await idsOf(ds, 'a')), ...(await idsOf(ds, 'b')), ...(await idsOf(ds, 'c'))];
    gap = sealed[4] - 1;
    expect(sealed[3]).toBe(gap - 1);
    expect(await ds.query(`SELECT count(*)::int AS n FROM audit_blocks`)).toEqual([{ n: 3 }]);
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 12, sealed: { blocks: 3 } });
  });
  afterEach(() => log.close());

  /** Verify without sealing first (the tail is appended by some tests after the seal). */
  const verify = (opts: Parameters<AuditService['verify']>[0] = {}) =>
    log.audit.verify({ seal: false, ...opts });

  it('names a sealed event whose content changed', async () => {
    await tamper(log.ds, [`UPDATE audit_events SET data = '{"i": 99}' WHERE id = $1`, [sealed[5]]]);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { id: String(sealed[5]), reason: 'hash_mismatch' },
    });
  });

  it('names a sealed event rewritten together with its own hash', async () => {
    const [row] = await log.ds.query(`SELECT at FROM audit_events WHERE id = $1`, [sealed[5]]);
    const forged = {
      at: new Date(row.at),
      actor: 'someone else',
      action: 'test.b',
      subjectType: 'test',
      subjectId: 'b-1',
      warningId: null,
      data: { i: 1, tag: 'b' },
    };
    await tamper(log.ds, [
      `UPDATE audit_events SET actor = $2, hash = $3 WHERE id = $1`,
      [sealed[5], forged.actor, contentHash(forged)],
    ]);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { id: String(sealed[5]), reason: 'seal_mismatch' },
    });
  });

  it('names the event after one deleted, and the deleted one', async () => {
    await tamper(log.ds, [`DELETE FROM audit_events WHERE id = $1`, [sealed[6]]]);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: {
        id: String(sealed[7]),
        reason: 'prev_mismatch',
        missingId: String(sealed[6]),
      },
    });
  });

  it('names the last event deleted, with nothing after it', async () => {
    const last = sealed[sealed.length - 1];
    await tamper(log.ds, [`DELETE FROM audit_events WHERE id = $1`, [last]]);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { id: String(last), reason: 'missing' },
    });
  });

  it('names events swapped with each other', async () => {
    const [a, b] = [sealed[1], sealed[2]];
    await tamper(log.ds, [
      `UPDATE audit_events e SET at = o.at, actor = o.actor, action = o.action,
              subject_type = o.subject_type, subject_id = o.subject_id, data = o.data, hash = o.hash
         FROM audit_events o WHERE (e.id, o.id) IN (($1, $2), ($2, $1))`,
      [a, b],
    ]);
    const res = await verify();
    expect(res).toMatchObject({
      ok: false,
      firstBroken: { id: String(a), reason: 'seal_mismatch' },
    });
  });

  it('names an event slipped into a gap after sealing', async () => {
    const forged = events(1, 'forged')[0];
    const at = new Date();
    await tamper(log.ds, [
      `INSERT INTO audit_events (id, at, actor, action, subject_type, subject_id, data, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        gap,
        at,
        forged.actor,
        forged.action,
        forged.subjectType,
        forged.subjectId,
        forged.data,
        contentHash({ ...forged, at, warningId: null, data: forged.data! }),
      ],
    ]);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { id: String(gap), reason: 'unexpected', block: 2 },
    });
  });

  /** Rewrites one event and every block from its own on, hashes and all, without the key. */
  async function rewriteHistory(ds: DataSource, id: number): Promise<void> {
    const [row] = await ds.query(`SELECT at, action, subject_id FROM audit_events WHERE id = $1`, [
      id,
    ]);
    const forged = {
      at: new Date(row.at),
      actor: 'test',
      action: row.action,
      subjectType: 'test',
      subjectId: row.subject_id,
      warningId: null,
      data: { i: 1000 },
    };
    const statements: [string, unknown[]][] = [
      [
        `UPDATE audit_events SET data = $2, hash = $3 WHERE id = $1`,
        [id, forged.data, contentHash(forged)],
      ],
    ];
    const blocks = await ds.query(
      `SELECT no::int, first_id::int AS "firstId", last_id::int AS "lastId", events, size::int AS size,
              gaps::text AS gaps, prev_hash AS "prevHash" FROM audit_blocks ORDER BY audit_blocks.no`,
    );
    let prev = GENESIS_HASH;
    for (const b of blocks) {
      const rows = await ds.query(
        `SELECT id, hash FROM audit_events WHERE id BETWEEN $1 AND $2 ORDER BY id`,
        [b.firstId, b.lastId],
      );
      const hashes = Buffer.concat(
        rows.map((r: { id: string; hash: string }) =>
          Buffer.from(Number(r.id) === id ? contentHash(forged) : r.hash, 'hex'),
        ),
      );
      const hash = blockHash({ ...b, gaps: parseGaps(b.gaps), prevHash: prev }, hashes);
      statements.push([
        `UPDATE audit_blocks SET hashes = $2, prev_hash = $3, hash = $4 WHERE no = $1`,
        [b.no, hashes, prev, hash],
      ]);
      prev = hash;
    }
    await tamper(ds, ...statements);
  }

  it('detects a whole history rewritten with its block hashes, against the signed checkpoint', async () => {
    await rewriteHistory(log.ds, sealed[5]);
    const res = await verify();
    expect(res).toMatchObject({ ok: false, firstBroken: { reason: 'checkpoint_mismatch' } });
    // Every block recomputes: only the checkpoint, which needs the key, tells.
    expect(res.firstBroken).not.toHaveProperty('missingId');

    // A checkpoint signed with a key of the forger's own does not pass either.
    const [last] = await log.ds.query(
      `SELECT no::int AS block, last_id::int AS "lastId", size::int AS size, hash AS head
         FROM audit_blocks ORDER BY audit_blocks.no DESC LIMIT 1`,
    );
    const forged = { ...last, at: new Date() };
    await log.ds.query(
      `INSERT INTO audit_checkpoints (block_no, last_id, size, head, at, key_id, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        forged.block,
        forged.lastId,
        forged.size,
        forged.head,
        forged.at,
        'f'.repeat(16),
        signCheckpoint(checkpointKey('the forger'), forged),
      ],
    );
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { reason: 'checkpoint_mismatch', block: 3 },
    });
  });

  it('detects blocks that no checkpoint covers', async () => {
    await tamper(log.ds, [`DELETE FROM audit_checkpoints`]);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { reason: 'checkpoint_missing', block: 1 },
    });
  });

  it('detects the newest block cut off, against a checkpoint published outside the database', async () => {
    const published = (await verify()).checkpoint!;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-cp-')), 'checkpoint.json');
    fs.writeFileSync(file, JSON.stringify(published));
    const [b3] = await log.ds.query(
      `SELECT first_id::int AS "firstId", last_id::int AS "lastId" FROM audit_blocks WHERE no = 3`,
    );
    await tamper(
      log.ds,
      [`DELETE FROM audit_events WHERE id BETWEEN $1 AND $2`, [b3.firstId, b3.lastId]],
      [`DELETE FROM audit_blocks WHERE no = 3`],
      [`DELETE FROM audit_checkpoints WHERE block_no = 3`],
    );
    // The database alone still holds together (block 2 and its checkpoint) …
    expect(await verify()).toMatchObject({ ok: true, sealed: { blocks: 2 } });
    // … the published checkpoint does not.
    expect(
      await verify({ published: { block: published.block, head: published.head } }),
    ).toMatchObject({
      ok: false,
      firstBroken: { reason: 'checkpoint_mismatch', block: 3 },
      published: { block: 3, ok: false },
    });
    process.env.AUDIT_CHECKPOINT_FILE = file;
    try {
      expect(await verify()).toMatchObject({ ok: false, published: { block: 3, ok: false } });
    } finally {
      delete process.env.AUDIT_CHECKPOINT_FILE;
    }
  });

  it('checks the content of the unsealed tail, and reports it', async () => {
    await log.audit.append(events(2, 'tail'));
    tail = await idsOf(log.ds, 'tail');
    const ok = await verify();
    expect(ok).toMatchObject({
      ok: true,
      checked: 14,
      sealed: { events: 12 },
      unsealed: { count: 2, oldestId: String(tail[0]) },
    });
    await tamper(log.ds, [`UPDATE audit_events SET actor = 'x' WHERE id = $1`, [tail[1]]]);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBroken: { id: String(tail[1]), reason: 'hash_mismatch' },
    });
  });
});

describe('audit log migration: the legacy chain is kept verifiable, and down restores it', () => {
  it('seals legacy rows, checks their old links, and chains new events back on down', async () => {
    // The sealing migration itself, whatever migrations came after it.
    const sealing = MIGRATIONS.indexOf(AuditSealing1764500000000);
    const before = await openLog(MIGRATIONS.slice(0, sealing));
    const db = before.db;
    // Legacy events, chained as the old AuditService did.
    let prev = GENESIS_HASH;
    const at = new Date(Date.UTC(2025, 0, 1));
    for (const e of events(6, 'legacy')) {
      const content = { ...e, at, warningId: null, data: e.data! };
      const hash = legacyEventHash(prev, content);
      await before.ds.query(
        `INSERT INTO audit_events (at, actor, action, subject_type, subject_id, data, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [at, e.actor, e.action, e.subjectType, e.subjectId, e.data, prev, hash],
      );
      prev = hash;
    }
    await before.ds.destroy();

    const log = await openLog(MIGRATIONS.slice(0, sealing + 1), db);
    try {
      await log.audit.append(events(3, 'new'));
      expect(await log.audit.verify()).toMatchObject({
        ok: true,
        checked: 9,
        sealed: { events: 9 },
      });
      // A legacy row's old link is still checked.
      const legacy = await idsOf(log.ds, 'legacy');
      await tamper(log.ds, [
        `UPDATE audit_events SET prev_hash = $2 WHERE id = $1`,
        [legacy[3], GENESIS_HASH],
      ]);
      expect(await log.audit.verify()).toMatchObject({
        ok: false,
        firstBroken: { id: String(legacy[3]), reason: 'prev_mismatch' },
      });
      await tamper(log.ds, [
        `UPDATE audit_events e SET prev_hash = p.hash FROM audit_events p WHERE e.id = $1 AND p.id = $2`,
        [legacy[3], legacy[2]],
      ]);
      expect((await log.audit.verify()).ok).toBe(true);

      // Down: every event on one chain again, hashes unique, the new tables gone.
      await log.ds.undoLastMigration({ transaction: 'each' });
      const rows = await log.ds.query(
        `SELECT at, actor, action, subject_type AS "subjectType", subject_id AS "subjectId",
                warning_id AS "warningId", data, prev_hash AS "prevHash", hash
           FROM audit_events ORDER BY id`,
      );
      expect(rows).toHaveLength(9);
      let link = GENESIS_HASH;
      for (const r of rows) {
        expect(r.prevHash).toBe(link);
        expect(r.hash).toBe(legacyEventHash(link, { ...r, at: new Date(r.at) }));
        link = r.hash;
      }
      const [{ tables }] = await log.ds.query(
        `SELECT count(*)::int AS tables FROM pg_tables WHERE tablename IN ('audit_blocks', 'audit_checkpoints')`,
      );
      expect(tables).toBe(0);
      await expect(
        log.ds.query(`UPDATE audit_events SET actor = 'x' WHERE id = $1`, [legacy[0]]),
      ).rejects.toThrow(/append-only/);

      // And up again.
      await runMigrations(log.ds);
      await log.audit.append(events(1, 'again'));
      expect(await log.audit.verify()).toMatchObject({ ok: true, checked: 10 });
    } finally {
      await log.close();
    }
  });
});
