import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource } from 'typeorm';
import { AnswerBatches } from '../../src/modules/chain/answer-batches';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { waitUntil } from '../helpers/wait';

/**
 * Issue 10: under 500 keypresses a second, most answers waited for other answers' row locks
 * (`Lock:transactionid` 49 % of the sampled sessions): a second press of a call ran in a lane of
 * its own, waited there for the first press's batch to commit, and every answer behind it in its
 * batch waited with it. Answers of one key (a call, a person) now never run in two lanes at once:
 * the second waits for the first's batch without holding a lane, or joins it.
 */
describe('answers of one call or person never run in two transactions at once', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('answer_keys');
    ds = new DataSource({ type: 'postgres', url: db.url, extra: { max: 6 } });
    await ds.initialize();
    await ds.query(`CREATE TABLE calls (id text PRIMARY KEY, presses int NOT NULL DEFAULT 0)`);
    await ds.query(`INSERT INTO calls (id) VALUES ('x'), ('y')`);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  /** What a test holds a transaction open with, until it lets go (`open`). */
  function gate(): { held: Promise<void>; open: () => void } {
    let open!: () => void;
    const held = new Promise<void>((r) => (open = r));
    return { held, open };
  }

  /** A press of call `id`: its row, written and held until `release` (if given) resolves. */
  const press =
    (id: string, started: string[], release?: Promise<void>) =>
    async (m: import('typeorm').EntityManager) => {
      started.push(id);
      await m.query(`UPDATE calls SET presses = presses + 1 WHERE id = $1`, [id]);
      await release;
      return id;
    };

  it('runs a second press of a call after the first one’s batch, while other calls go by in the free lane', async () => {
    const batches = new AnswerBatches(ds, { lanes: 2, max: 8 });
    const started: string[] = [];
    const { held, open } = gate();

    const first = batches.run(press('x', started, held), 'call:x');
    let second: Promise<string> | undefined;
    try {
      await waitUntil(async () => started.length === 1, 'the first press runs');
      // The same call pressed again while the first press's transaction holds its row; then
      // another call. One lane is free: the other call takes it, the second press waits.
      second = batches.run(press('x', started), 'call:x');
      const other = batches.run(press('y', started), 'call:y');
      await waitUntil(
        async () => started.includes('y'),
        'the other call runs in the free lane',
        5_000,
      );
      await expect(other).resolves.toBe('y');
      expect(started).toEqual(['x', 'y']);
      // Nobody waits on a row lock: the second press has not started a transaction.
      const [locks] = await ds.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      expect(locks.n).toBe(0);
    } finally {
      open();
    }
    await expect(first).resolves.toBe('x');
    await expect(second).resolves.toBe('x');
    expect(started).toEqual(['x', 'y', 'x']);
    expect((await ds.query(`SELECT presses FROM calls WHERE id = 'x'`))[0].presses).toBe(2);
  });

  it('puts presses of one call that wait together in one batch, one after the other', async () => {
    const batches = new AnswerBatches(ds, { lanes: 1, max: 8 });
    const started: string[] = [];
    const { held, open } = gate();
    const busy = batches.run(press('y', started, held), 'call:y');
    await waitUntil(async () => started.length === 1, 'the only lane is busy');
    const before = batches.shared.batches;
    const x1 = batches.run(press('x', started), 'call:x');
    const x2 = batches.run(press('x', started), 'call:x');
    open();
    await Promise.all([busy, x1, x2]);
    // One transaction for both (a lock wait between them would have needed two).
    expect(batches.shared.batches - before).toBe(1);
    expect(started).toEqual(['y', 'x', 'x']);
  });

  it('runs each answer in its own caller’s context, whichever answer started its batch', async () => {
    // Why an answer is late (`withLateReason`) lives in an AsyncLocalStorage: an answer replayed
    // from the spool that waited behind another one was audited with the other one's reason.
    const why = new AsyncLocalStorage<string>();
    const batches = new AnswerBatches(ds, { lanes: 1, max: 8 });
    const started: string[] = [];
    const { held, open } = gate();
    const seen = (m: import('typeorm').EntityManager) =>
      m.query('SELECT 1').then(() => why.getStore());
    const first = why.run('acknowledged_early', () =>
      batches.run((m) => press('x', started, held)(m).then(() => why.getStore()), 'call:x'),
    );
    await waitUntil(async () => started.length === 1, 'the first answer holds the only lane');
    const late = why.run('under_load', () => batches.run(seen, 'call:x'));
    const fresh = batches.run(seen, 'call:y');
    open();
    expect(await first).toBe('acknowledged_early');
    expect(await late).toBe('under_load');
    expect(await fresh).toBeUndefined();
  });

  it('lets answers without a key run side by side as before', async () => {
    const batches = new AnswerBatches(ds, { lanes: 2, max: 8 });
    const started: string[] = [];
    const { held, open } = gate();
    const a = batches.run(async (m) => {
      started.push('a');
      await m.query('SELECT 1');
      await held;
    });
    await waitUntil(async () => started.length === 1, 'the first answer runs');
    const b = batches.run(async (m) => {
      started.push('b');
      await m.query('SELECT 1');
    });
    await b;
    expect(started).toEqual(['a', 'b']);
    open();
    await a;
  });
});
