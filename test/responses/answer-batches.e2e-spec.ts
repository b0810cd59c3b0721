import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AnswersService } from '../../src/modules/chain/answers.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { oneNumberResidents, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { riskWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'answer-batches-e2e-secret'.padEnd(40, 'b');
const CROWD = 8;

/** Residents of grid 1, one mobile each, beside the village fixture's people. */
const { sql: crowdSql, people: crowd } = oneNumberResidents(CROWD, '09', 'P-AB');

/**
 * Issue 10: answers share their commits. Under load each answer's transaction waited for its own
 * WAL flush (COMMIT was 42–44 % of the sampled answer sessions at 500 keypresses a second). Now
 * answers that arrive while every lane is busy go together, each in a savepoint of one transaction.
 * Here one lane: the first answer holds it (its person's row is locked by another transaction),
 * the others queue behind it and then commit together; one of them fails alone, and one whose
 * person's row is held while the batch runs does not hold up the others: it runs again alone once
 * its row is free.
 */
describe('answers arriving together share one commit', () => {
  let t: TestApp;
  let locker: Client;
  let holder: Client;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + crowdSql,
      env: { ANSWER_BATCH_LANES: '1' },
    });
    // Nobody of the crowd answers on their own: the answers under test are the test's.
    for (const p of crowd) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    locker = new Client({ connectionString: process.env.DATABASE_URL });
    await locker.connect();
    holder = new Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
  });
  afterAll(async () => {
    await locker.end();
    await holder.end();
    await t.close();
  });

  /** A warning to the crowd: their deliveries, each with its first attempt, in order. */
  async function issueToCrowd(headline: string): Promise<{ id: string; attempt: string }[]> {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(riskWarning({ headline, audience: ['resident'] }));
    expect(res.status).toBe(201);
    let people: { id: string; attempt: string }[] = [];
    await waitUntil(async () => {
      people = await t.db.query(
        `SELECT d.id, (SELECT a.id FROM contact_attempts a WHERE a.delivery_id = d.id ORDER BY a.seq LIMIT 1) AS attempt
           FROM deliveries d JOIN people p ON p.id = d.person_id
          WHERE d.warning_id = $1 AND p.external_id LIKE 'P-AB%' ORDER BY p.external_id`,
        [res.body.id],
      );
      return people.length === CROWD && people.every((p) => p.attempt);
    }, 'the crowd’s deliveries and attempts are written');
    return people;
  }

  /** Until a session of this database waits for a row lock (an answer waits for a held row). */
  const someoneWaitsForARow = (what: string) =>
    waitUntil(async () => {
      const [w] = await t.db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND datname = current_database()`,
      );
      return w.n > 0;
    }, what);

  it('commits the answers queued behind a busy lane together; a bad one fails alone, a held one waits alone', async () => {
    const deliveries = await issueToCrowd('批量应答测试：地质灾害气象风险预警');
    const answers = t.app.get(AnswersService, { strict: false });
    const before = answers.sharedCommits;
    const confirm = (deliveryId: string, n: number) =>
      answers.record({
        deliveryId,
        kind: 'confirm',
        channel: 'link',
        raw: 'confirm',
        dedupeKey: `link:batch-test:${n}`,
      });

    // The first answer takes the only lane and waits there: its person's row is held.
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [deliveries[0].id]);
    const safety = setTimeout(() => void locker.query('ROLLBACK').catch(() => undefined), 30_000);
    let first: Promise<unknown>;
    let queued: Promise<unknown>[];
    let bad: Promise<unknown>;
    try {
      first = confirm(deliveries[0].id, 0);
      await someoneWaitsForARow('the first answer waits for the row');
      // The others queue behind it; one of them answers for a delivery that does not exist, and
      // the row of the first of them is held by another transaction while their batch runs.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [deliveries[1].id]);
      queued = deliveries.slice(1).map((d, i) => confirm(d.id, i + 1));
      bad = confirm(randomUUID(), 99);
    } finally {
      clearTimeout(safety);
      await locker.query('COMMIT').catch(() => undefined);
    }
    const held = setTimeout(() => void holder.query('ROLLBACK').catch(() => undefined), 30_000);
    try {
      await first!;
      // The batch commits without the held answer, whose row is still held.
      const rest = (await Promise.all(queued!.slice(1))) as {
        recorded: boolean;
        effective: boolean;
      }[];
      expect(rest.every((r) => r.recorded && r.effective)).toBe(true);
      await expect(bad!).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(
        (await t.db.query(`SELECT 1 FROM answers WHERE dedupe_key = 'link:batch-test:1'`)).length,
      ).toBe(0);
    } finally {
      clearTimeout(held);
      await holder.query('COMMIT').catch(() => undefined);
    }
    // Its row free, the held answer is recorded, alone.
    expect(await queued![0]).toMatchObject({ recorded: true, effective: true });

    // The queued answers committed together (rows written in savepoints carry their own xids,
    // so the service's count of shared commits tells it), the first alone. Not set-based: the
    // held row stopped the batch's statement, and its answers ran one by one.
    expect(answers.sharedCommits).toEqual({
      batches: before.batches + 1,
      answers: before.answers + CROWD - 2,
      set: before.set,
    });
    // Each answer did all it does alone: the person confirmed, the answer effective and audited.
    const rows = await t.db.query<{ state: string; effective: boolean; events: number }[]>(
      `SELECT d.state, a.effective,
              (SELECT count(*)::int FROM audit_events e
                WHERE e.action = 'answer.recorded' AND e.subject_id = a.id::text) AS events
         FROM answers a JOIN deliveries d ON d.id = a.delivery_id
        WHERE a.dedupe_key LIKE 'link:batch-test:%'`,
    );
    expect(rows).toEqual(
      Array.from({ length: CROWD }, () => ({ state: 'confirmed', effective: true, events: 1 })),
    );
    expect(
      (await t.db.query(`SELECT 1 FROM answers WHERE dedupe_key = 'link:batch-test:99'`)).length,
    ).toBe(0);
  });

  it('records a batch set-based, with the same moves and events as one answer after the other', async () => {
    // Three sequences of answers, each for one person: queued together behind a busy lane (one
    // transaction, set-based), and the same for three other people, one answer after the other.
    const people = await issueToCrowd('批量应答测试二：地质灾害气象风险预警');
    const answers = t.app.get(AnswersService, { strict: false });
    type Step = () => Promise<unknown>;
    type Kind = 'confirm' | 'help' | 'ambiguous';
    const sequences = (p: { id: string; attempt: string }, tag: string): Step[][] => {
      /** The person's answer on `channel`, under the dedupe key `tag:n`. */
      const says =
        (kind: Kind, channel: 'link' | 'sms', raw: string, n: string): Step =>
        () =>
          answers.record({ deliveryId: p.id, kind, channel, raw, dedupeKey: `${tag}:${n}` });
      /** Key 1 pressed on the person's call. */
      const presses =
        (n: string): Step =>
        () =>
          answers.recordKeypress(
            { attemptId: p.attempt, digits: '1' },
            { kind: 'confirm', channel: 'voice', raw: '1', dedupeKey: `${tag}:${n}` },
          );
      return [
        // A confirmation, then the same person's second one (another dedupe key).
        [says('confirm', 'link', 'c', 'a1'), says('confirm', 'link', 'c', 'a2')],
        // Help asked, then a confirmation; an unclear reply between them.
        [
          says('help', 'sms', '2', 'b1'),
          says('ambiguous', 'sms', '?', 'b2'),
          says('confirm', 'sms', '1', 'b3'),
        ],
        // A key pressed on the person's call, the same key again, then a link for the same person.
        [presses('c1'), presses('c1'), says('confirm', 'link', 'c', 'c3')],
      ];
    };
    const [busy, ...rest] = people;
    const together = rest.slice(0, 3);
    const alone = rest.slice(3, 6);
    const before = answers.sharedCommits;

    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [busy.id]);
    const safety = setTimeout(() => void locker.query('ROLLBACK').catch(() => undefined), 30_000);
    let first: Promise<unknown>;
    const queued: Promise<unknown>[] = [];
    try {
      first = answers.record({
        deliveryId: busy.id,
        kind: 'confirm',
        channel: 'link',
        raw: 'c',
        dedupeKey: 'set:busy',
      });
      await someoneWaitsForARow('the first answer holds the only lane');
      // Interleaved, as answers of different people arrive.
      const seqs = together.map((p, n) => sequences(p, `set${n}`)[n]);
      for (let k = 0; k < 3; k++) for (const s of seqs) if (s[k]) queued.push(s[k]());
      queued.push(
        answers.record({
          deliveryId: randomUUID(),
          kind: 'confirm',
          channel: 'link',
          raw: 'c',
          dedupeKey: 'set:unknown',
        }),
      );
    } finally {
      clearTimeout(safety);
      await locker.query('COMMIT').catch(() => undefined);
    }
    await first!;
    const settled = await Promise.allSettled(queued);
    // The unknown person's answer failed alone; the others were recorded, in one set-based batch.
    expect(settled.filter((r) => r.status === 'rejected')).toHaveLength(1);
    await expect(queued[queued.length - 1]).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(answers.sharedCommits).toMatchObject({
      batches: before.batches + 1,
      set: before.set + 1,
    });
    const results = new Map<string, unknown>();
    // (Results in the order each person's answers were given.)
    const resultsOf = (n: number) => {
      const out: unknown[] = [];
      let i = 0;
      for (let k = 0; k < 3; k++)
        for (let s = 0; s < 3; s++) {
          const seq = sequences(together[s], '')[s];
          if (!seq[k]) continue;
          if (s === n) out.push((settled[i] as PromiseFulfilledResult<unknown>).value);
          i++;
        }
      return out;
    };
    for (const [n, p] of alone.entries()) {
      const got: unknown[] = [];
      for (const step of sequences(p, `one${n}`)[n]) got.push(await step());
      results.set(`alone${n}`, got);
    }

    // What each answer returned, and what it left in the database, are the same either way.
    const strip = (v: unknown, p: { id: string; attempt: string }) =>
      JSON.parse(
        JSON.stringify(v ?? null)
          .split(p.id)
          .join('<delivery>')
          .split(p.attempt)
          .join('<call>')
          .replace(/"answerId":"[^"]+"/g, '"answerId":"<id>"')
          .replace(/"(warningId|personName)":"[^"]+"/g, '"$1":"<x>"'),
      );
    const outcome = async (p: { id: string; attempt: string }) => {
      const [d] = await t.db.query(
        `SELECT state, answer_channel, answered_attempt_id = $2 AS "byCall", answered_attempt_id IS NULL AS "noAttempt",
                confirmed_at IS NOT NULL AS confirmed, help_requested_at IS NOT NULL AS help
           FROM deliveries WHERE id = $1`,
        [p.id, p.attempt],
      );
      const given = await t.db.query(
        `SELECT kind, channel, effective, attempt_id = $2 AS "onCall",
                (SELECT array_agg(e.action ORDER BY e.id) FROM audit_events e WHERE e.subject_id = a.id::text) AS events
           FROM answers a WHERE delivery_id = $1 ORDER BY right(a.dedupe_key, 2)`,
        [p.id, p.attempt],
      );
      const [call] = await t.db.query(`SELECT digits, heard FROM contact_attempts WHERE id = $1`, [
        p.attempt,
      ]);
      const stopped = await t.db.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE action = 'sends.stopped' AND data->>'deliveryId' = $1`,
        [p.id],
      );
      return { d, given, call, stopped: stopped[0].n };
    };
    for (let n = 0; n < 3; n++) {
      expect(strip(resultsOf(n), together[n])).toEqual(strip(results.get(`alone${n}`), alone[n]));
      expect(await outcome(together[n])).toEqual(await outcome(alone[n]));
    }
    // Each sequence did what it says: the first confirmation counts, help stays flagged under it.
    expect(
      (await outcome(together[0])).given.map((a: { effective: boolean }) => a.effective),
    ).toEqual([true, false]);
    expect((await outcome(together[1])).d).toMatchObject({ help: true });
    expect((await outcome(together[2])).d).toMatchObject({ state: 'confirmed', byCall: true });
  });
});
