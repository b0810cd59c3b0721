import type { EntityManager } from 'typeorm';
import { rows } from '../../database/sql';
import type { BesideStatement } from '../audit/audit.service';
import { type AnswerInput, closedFor } from './answers.types';
import type { DeliveryState } from './chain-states';
import { type AnswerStep, type AnswerStepRow, stepOfRow } from './chain-moves.repository';
import { gridAnswersLocksSql, MAY_RESOLVE_FOR } from './notices.repository';
import { HAS_OPEN_TASK } from './task-moves.repository';

/** One answer of a set (`answerSteps`): as `ChainMoves.answerStep` takes it. */
export interface StepItem {
  input: Omit<AnswerInput, 'deliveryId'> & { deliveryId?: string };
  key?: { attemptId: string; digits: string; receivedAt?: Date };
}

/** An answer of the set, or why it has no step: deferred to the next statement, or an error. */
export type StepOutcome = { step: AnswerStep } | { deferred: true } | { error: Error };

/**
 * `ChainMoves.answerStep` for many answers in one statement: the same guards and moves, row by
 * row (the key on the call; the answer inserted once per dedupe key; the person's delivery moved
 * only from the states the answer's kind moves, and only when the answer was inserted; their
 * queued sends of their own alert cancelled only when it moved; for a confirmation, the grid's
 * answers lock). One answer per person (and so per call) in a statement: the set's later answers
 * of a person already in it are deferred (`{ deferred: true }`) for the caller's next statement,
 * which sees this one's moves, as it would have one answer after the other. The caller
 * (`AnswersService`) resolves what confirmations resolve and appends the audit events.
 */
export async function answerSteps(m: EntityManager, items: StepItem[]): Promise<StepOutcome[]> {
  if (!items.length) return [];
  const col = <T>(f: (it: StepItem) => T) => items.map(f);
  const params = [
    items.map((_, i) => i),
    col((it) => it.input.deliveryId ?? null),
    col((it) => (it.key ? it.key.attemptId : (it.input.attemptId ?? null))),
    col((it) => it.input.channel),
    col((it) => it.input.kind),
    col((it) => it.input.raw ?? null),
    col((it) => it.input.recordedBy ?? null),
    col((it) => it.input.reason ?? null),
    col((it) => it.input.dedupeKey),
    col((it) => it.input.receivedAt ?? null),
    col((it) => it.key?.digits ?? null),
    col((it) => it.key?.receivedAt ?? null),
    col((it) =>
      it.input.kind === 'ambiguous' ? null : it.input.kind === 'confirm' ? 'confirmed' : 'declined',
    ),
    col((it) => (it.input.kind === 'ambiguous' ? null : closedFor(it.input.kind).join(','))),
  ];
  const found = await rows<AnswerStepRow & { ord: number; processed: boolean }>(
    m,
    `WITH i AS (
       SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::uuid[],
                            $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::timestamptz[], $13::text[], $14::text[])
         AS t(ord, delivery_id, attempt_id, channel, kind, raw, recorded_by, reason, dedupe_key, received_at,
              digits, key_at, to_state, closed)),
     kr AS (
       SELECT i.ord, a.id, a.delivery_id, a.warning_id, a.version, a.msg_type, a.purpose, a.covers
         FROM i JOIN contact_attempts a ON a.id = i.attempt_id WHERE i.digits IS NOT NULL),
     -- Whose answer it is: the person named, else the call's person (none for a notice call).
     t AS (
       SELECT i.ord, CASE WHEN i.digits IS NULL THEN i.delivery_id
                          WHEN kr.purpose <> 'notice' THEN coalesce(i.delivery_id, kr.delivery_id) END AS id
         FROM i LEFT JOIN kr ON kr.ord = i.ord),
     -- The first answer of each person (or call, without a person) in the set; the others wait.
     f AS (
       SELECT DISTINCT ON (coalesce(t.id::text, 'call:' || i.attempt_id::text, 'answer:' || i.ord)) t.ord, t.id
         FROM t JOIN i ON i.ord = t.ord
        ORDER BY coalesce(t.id::text, 'call:' || i.attempt_id::text, 'answer:' || i.ord), t.ord),
     -- The key on the call, first (its row before the delivery's, as every move takes them). A key
     -- the call already holds writes nothing and so takes no row lock.
     kw AS (
       UPDATE contact_attempts a SET digits = i.digits, heard = true,
              answered_at = coalesce(a.answered_at, i.key_at, now())
         FROM i JOIN f ON f.ord = i.ord
        WHERE i.digits IS NOT NULL AND a.id = i.attempt_id
          AND (a.digits IS DISTINCT FROM i.digits OR a.heard IS NOT TRUE OR a.answered_at IS NULL)
        RETURNING a.id),
     d AS (
       SELECT f.ord, d.id, d.warning_id, d.state, d.role, d.grid_code
         FROM f JOIN deliveries d ON d.id = f.id),
     ins AS (
       INSERT INTO answers (delivery_id, attempt_id, channel, kind, raw_input, recorded_by, reason, dedupe_key, effective, received_at)
       SELECT d.id, i.attempt_id, i.channel, i.kind, i.raw, i.recorded_by, i.reason, i.dedupe_key, false,
              coalesce(i.received_at, now())
         FROM d JOIN i ON i.ord = d.ord
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key),
     a AS (SELECT d.ord, d.id AS delivery_id, ins.id FROM ins JOIN i ON i.dedupe_key = ins.dedupe_key JOIN d ON d.ord = i.ord),
     -- Row lock: of two different answers racing, the second re-reads the state and changes
     -- nothing (see ChainMoves.answerStep).
     mv AS (
       UPDATE deliveries SET state = CASE WHEN deliveries.state = 'confirmed' THEN deliveries.state ELSE i.to_state END,
              confirmed_at = coalesce(deliveries.confirmed_at, i.received_at, now()),
              help_requested_at = CASE WHEN i.to_state = 'declined'
                                       THEN coalesce(deliveries.help_requested_at, i.received_at, now())
                                       ELSE deliveries.help_requested_at END,
              answered_attempt_id = CASE WHEN deliveries.state = 'confirmed' THEN deliveries.answered_attempt_id ELSE i.attempt_id END,
              answer_channel = CASE WHEN deliveries.state = 'confirmed' THEN deliveries.answer_channel ELSE i.channel END
         FROM a JOIN i ON i.ord = a.ord
        WHERE i.to_state IS NOT NULL AND deliveries.id = a.delivery_id
          AND deliveries.state <> ALL(string_to_array(i.closed, ','))
          AND NOT (i.to_state = 'declined' AND deliveries.help_requested_at IS NOT NULL)
        RETURNING deliveries.id, deliveries.state, deliveries.not_woken_at, deliveries.edge_opened_at),
     -- The person's own alert stops where it waits (the call pressed is not waiting); a send a
     -- sender holds is no longer waiting (SKIP LOCKED), as in ChainMoves.answerStep.
     sp AS (
       UPDATE contact_attempts c SET status = 'cancelled', outcome = 'answered'
        WHERE c.id IN (
          SELECT q.id FROM contact_attempts q JOIN mv ON q.delivery_id = mv.id
            JOIN d ON d.id = mv.id JOIN i ON i.ord = d.ord
           WHERE q.status = 'queued'
             AND q.purpose = 'warning' AND q.channel <> 'manual' AND q.msg_type <> 'cancel'
             AND (i.digits IS NULL OR q.id <> i.attempt_id)
             FOR UPDATE OF q SKIP LOCKED)
          AND c.status = 'queued'
       RETURNING c.delivery_id),
     lk AS MATERIALIZED (${gridAnswersLocksSql(
       `SELECT mv.id FROM mv JOIN d ON d.id = mv.id JOIN i ON i.ord = d.ord WHERE i.kind = 'confirm'`,
     )})
     SELECT i.ord, f.ord IS NOT NULL AS processed,
            d.id AS "deliveryId", d.warning_id AS "warningId", d.state, a.id AS "answerId",
            mv.state AS moved,
            (SELECT count(*) FROM sp WHERE sp.delivery_id = mv.id)::int AS cancelled,
            (SELECT count(*) FROM lk WHERE lk.id = mv.id)::int AS locked,
            (i.kind = 'confirm' AND mv.id IS NOT NULL
              AND (mv.not_woken_at IS NOT NULL OR mv.edge_opened_at IS NOT NULL OR ${MAY_RESOLVE_FOR('d')} OR ${HAS_OPEN_TASK('d')})) AS "mayResolve",
            (i.kind = 'confirm' AND mv.edge_opened_at IS NOT NULL AND d.role <> 'resident' AND d.grid_code IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM lk WHERE lk.id = mv.id)) AS "lockAfter",
            kr.id AS "callId", kr.delivery_id AS "callDeliveryId", kr.warning_id AS "callWarningId",
            kr.version AS "callVersion", kr.msg_type AS "callMsgType", kr.purpose AS "callPurpose",
            kr.covers AS "callCovers", kw.id IS NOT NULL AS "keyWritten", kp.name AS "personName", kp.role AS "personRole"
       FROM i LEFT JOIN f ON f.ord = i.ord
       LEFT JOIN d ON d.ord = i.ord LEFT JOIN a ON a.ord = i.ord LEFT JOIN mv ON mv.id = d.id
       LEFT JOIN kr ON kr.ord = i.ord LEFT JOIN kw ON kw.id = kr.id AND f.ord IS NOT NULL
       LEFT JOIN deliveries kd ON kd.id = kr.delivery_id LEFT JOIN people kp ON kp.id = kd.person_id
      ORDER BY i.ord`,
    params,
  );
  // Re-read, in one statement, the state of every person whose answer moved nothing.
  const reread = found
    .filter(
      (r) =>
        r.processed &&
        r.deliveryId &&
        (!r.answerId || (items[r.ord].input.kind !== 'ambiguous' && !r.moved)),
    )
    .map((r) => r.deliveryId!);
  const states = new Map<string, DeliveryState>();
  if (reread.length) {
    const now: { id: string; state: DeliveryState }[] = await m.query(
      `SELECT id, state FROM deliveries WHERE id = ANY($1::uuid[])`,
      [[...new Set(reread)]],
    );
    for (const s of now) states.set(s.id, s.state);
  }
  return Promise.all(
    found.map(async (r): Promise<StepOutcome> => {
      if (!r.processed) return { deferred: true };
      const it = items[r.ord];
      try {
        return { step: await stepOfRow(r, it.input, it.key, async (id) => states.get(id)!) };
      } catch (err) {
        return { error: err instanceof Error ? err : new Error(String(err)) };
      }
    }),
  );
}

/** `markEffective` for several answers: one statement beside the audit INSERT. */
export const markEffectiveMany =
  (answerIds: string[]): BesideStatement =>
  (param) =>
    `UPDATE answers SET effective = true WHERE id = ANY(${param(answerIds)}::uuid[])`;
