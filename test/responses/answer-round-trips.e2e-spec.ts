import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';
import { TwilioWebhooksController } from '../../src/modules/responses/twilio-webhooks.controller';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { twilioPost } from '../helpers/twilio-webhooks';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'answer-round-trips-e2e-secret'.padEnd(40, 'a');

/** The SQL one request sent to Postgres, in order, and how many commits it made. */
interface Trace {
  statements: string[];
  commits: number;
}

/**
 * What a keypress answer costs Postgres, counted (never timed): every statement the gather
 * webhook's handler sends, on either pool, and its commits. Under a fan-out each round trip is a
 * socket write that hands the CPU to a Postgres backend, and each commit a WAL flush to wait for
 * (bench/README.md, "answers"). Counted at the test boundary: the pg client's `query` is wrapped,
 * and the controller's gather handler runs in an async context that names its statements (the
 * app's workers and sweeps run beside it, uncounted).
 */
describe('a keypress answer’s round trips to Postgres', () => {
  const trace = new AsyncLocalStorage<Trace>();
  const inTransaction = new WeakMap<object, boolean>();
  const original = {
    query: Client.prototype.query,
    gather: Object.getOwnPropertyDescriptor(TwilioWebhooksController.prototype, 'gather')!,
  };
  const traces = new Map<string, Trace>();
  let t: TestApp;
  let warningId: string;

  beforeAll(async () => {
    // Every statement on every pg client; those of a traced request are kept with its trace.
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      const text = String(
        typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? ''),
      ).trim();
      const verb = text.split(/\s+/)[0]?.toUpperCase();
      const inTx = inTransaction.get(this) ?? false;
      const current = trace.getStore();
      if (current) {
        current.statements.push(text.replace(/\s+/g, ' ').slice(0, 160));
        if (verb === 'COMMIT') current.commits++;
        else if (!inTx && /\b(INSERT|UPDATE|DELETE)\b/i.test(text)) current.commits++;
      }
      if (verb === 'BEGIN' || verb === 'START') inTransaction.set(this, true);
      else if (verb === 'COMMIT' || verb === 'ROLLBACK') inTransaction.set(this, false);
      return (original.query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query;
    // The gather handler runs in a context of its own when the request asks for one. Nest reads a
    // route's metadata from the handler function, so the wrapper carries the original's.
    const gather = original.gather.value as (...a: unknown[]) => unknown;
    const traced = function (this: unknown, ...args: unknown[]) {
      const req = args[0] as { headers: Record<string, string | undefined> };
      const store = req.headers['x-test-trace'] ? traces.get(req.headers['x-test-trace']) : null;
      return store ? trace.run(store, () => gather.apply(this, args)) : gather.apply(this, args);
    };
    for (const key of Reflect.getMetadataKeys(gather))
      Reflect.defineMetadata(key, Reflect.getMetadata(key, gather), traced);
    Object.defineProperty(TwilioWebhooksController.prototype, 'gather', {
      ...original.gather,
      value: traced,
    });

    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { TWILIO_CALLS_PER_SECOND: '10', TWILIO_SMS_PER_SECOND: '30' },
    });
    // Nobody answers on their own: the test presses the keys.
    for (const p of Object.values(PEOPLE)) t.sandbox!.carrier.setProfile(p.mobile, 'no-answer');
    const res = await t
      .http()
      .post('/v1/warnings')
      .set({ Authorization: `Bearer ${t.tokens.duty_officer}` })
      .send(imminentWarning({ headline: '往返次数测试：滑坡临灾预警' }));
    expect(res.status).toBe(201);
    warningId = res.body.id as string;
  });
  afterAll(async () => {
    Client.prototype.query = original.query;
    Object.defineProperty(TwilioWebhooksController.prototype, 'gather', original.gather);
    await t?.close();
  });

  /** The person's first call, once it was placed (only a placed call brings a Gather action). */
  const placedCall = async (ext: string) => {
    let call: { id: string; provider_id: string; delivery_id: string } | undefined;
    await waitUntil(async () => {
      [call] = await t.db.query(
        `SELECT a.id, a.provider_id, a.delivery_id FROM contact_attempts a
           JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id
          WHERE a.warning_id = $1 AND p.external_id = $2 AND a.channel = 'voice' AND a.purpose = 'warning'
            AND a.provider_id IS NOT NULL ORDER BY a.seq LIMIT 1`,
        [warningId, ext],
      );
      return call !== undefined;
    }, `${ext}'s call is placed`);
    return call!;
  };

  const press = async (call: { id: string; provider_id: string }, digits: string) => {
    const name = `${call.id}:${digits}`;
    const store: Trace = { statements: [], commits: 0 };
    traces.set(name, store);
    const res = await twilioPost(t, `/webhooks/twilio/voice/${call.id}/gather?round=1`, {
      CallSid: call.provider_id,
      Digits: digits,
      AccountSid: t.sandbox!.env.TWILIO_ACCOUNT_SID,
    }).set('X-Test-Trace', name);
    expect(res.status).toBe(201);
    return { res, trace: store };
  };

  it('records a confirmation and stops the person’s queued sends in one commit and few statements', async () => {
    // A first keypress of this warning: the version's texts are read once, then kept.
    const chiefCall = await placedCall(PEOPLE.villageChief.ext);
    const first = await press(chiefCall, '1');
    expect(first.trace.statements.length).toBeGreaterThan(0);

    const call = await placedCall(PEOPLE.resident.ext);
    // Something of the resident's alert still waits to be sent (as a slow step's next contact
    // point would): the answer stops it.
    const [waiting] = await t.db.query(
      `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, status, purpose)
       SELECT delivery_id, warning_id, version, msg_type, 99, 'voice', 'mobile', address, priority, 'queued', 'warning'
         FROM contact_attempts WHERE id = $1 RETURNING id`,
      [call.id],
    );
    const { res, trace: counted } = await press(call, '1');
    expect(res.text).toContain('<Hangup/>');

    // What the keypress did, all of it.
    const [d] = await t.db.query(
      `SELECT state, answered_attempt_id, answer_channel,
              (SELECT status || ':' || outcome FROM contact_attempts a WHERE a.id = $3) AS waiting,
              (SELECT digits FROM contact_attempts a WHERE a.id = $2) AS digits
         FROM deliveries d WHERE d.id = $1`,
      [call.delivery_id, call.id, waiting.id],
    );
    // (A retry of the unanswered call queued by its no-answer callback racing the key is not this
    // answer's to stop: only what waited when it was recorded.)
    expect(d).toEqual({
      state: 'confirmed',
      answered_attempt_id: call.id,
      answer_channel: 'voice',
      waiting: 'cancelled:answered',
      digits: '1',
    });
    const answers = await t.db.query(
      `SELECT id, kind, effective, dedupe_key FROM answers WHERE delivery_id = $1`,
      [call.delivery_id],
    );
    expect(answers).toEqual([
      {
        id: expect.any(String),
        kind: 'confirm',
        effective: true,
        dedupe_key: `voice:${call.provider_id}`,
      },
    ]);
    const events = await t.db.query(
      `SELECT action, subject_id AS "subjectId", data FROM audit_events
        WHERE warning_id = $1 AND action IN ('answer.recorded', 'attempts.cancelled')
          AND (subject_id = $2 OR subject_id = $3) ORDER BY id`,
      [warningId, answers[0].id, call.delivery_id],
    );
    expect(events).toEqual([
      {
        action: 'attempts.cancelled',
        subjectId: call.delivery_id,
        data: expect.objectContaining({ count: expect.any(Number), reason: 'answered' }),
      },
      {
        action: 'answer.recorded',
        subjectId: answers[0].id,
        data: expect.objectContaining({ kind: 'confirm', effective: true, state: 'confirmed' }),
      },
    ]);

    // What it cost: one commit (one WAL flush), and a handful of round trips. (It was 2 commits
    // and 14 statements: the attempt read for the call's texts, the keypress UPDATE committed on
    // its own, then the answer's transaction statement by statement.)
    const bound = 4;
    expect({
      commits: counted.commits,
      statements: counted.statements.length <= bound ? `at most ${bound}` : counted.statements,
    }).toEqual({ commits: 1, statements: `at most ${bound}` });
  });

  it('takes no lock on the call for a key it already holds: the same gather posted again does not wait', async () => {
    // The resident's call holds the key 1 (the test above). Another transaction holds its row, as
    // the transaction of a press still being recorded would.
    const call = await placedCall(PEOPLE.resident.ext);
    const holder = t.db.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query(`SELECT 1 FROM contact_attempts WHERE id = $1 FOR UPDATE`, [call.id]);
    const [{ pid: holderPid }] = await holder.query(`SELECT pg_backend_pid() AS pid`);
    let answered = false;
    const again = press(call, '1').finally(() => {
      answered = true;
    });
    let waited = false;
    try {
      await waitUntil(async () => {
        if (answered) return true;
        // Sessions waiting for the holder's lock (the gateway's other work may wait on its own).
        const [{ n }] = await t.db.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid))`,
          [holderPid],
        );
        waited = n > 0;
        return waited;
      }, 'the gather answered, or waiting for a lock');
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    const { res } = await again;
    expect(waited).toBe(false);
    expect(res.text).toContain('<Hangup/>');
    const answers = await t.db.query(`SELECT 1 FROM answers WHERE delivery_id = $1`, [
      call.delivery_id,
    ]);
    expect(answers).toHaveLength(1);
  });
});
