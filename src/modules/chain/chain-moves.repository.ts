import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import { DataSource, type EntityManager } from 'typeorm';
import { AppException } from '../../common/errors/app.exception';
import { type AnswerInput, type AnswerResult, closedFor, delayedNote } from './answers.types';
import { rows } from '../../database/sql';
import { AuditService, type AuditEventInput, type BesideStatement } from '../audit/audit.service';
import type { MessageType } from '../../common/domain/warning.types';
import { attemptFrom, type DeliveryState, deliveryFrom, sqlList } from './chain-states';
import {
  gridAnswersLockSql,
  MAY_RESOLVE_FOR,
  resolveBySubjectSql,
  resolvedEvent,
} from './notices.repository';
import { closeForSubjectSql, HAS_OPEN_TASK, taskClosedEvents } from './task-moves.repository';

export interface SmsMatch {
  where: string;
  params: string[];
}

/**
 * Which attempt an SMS callback is about: by attempt id (its provider id, once recorded, must be
 * the message's), else by the message id alone.
 */
export function smsMatch(e: { messageSid: string; attemptId?: string }): SmsMatch {
  return e.attemptId
    ? {
        where: `id = $1::uuid AND channel IN ('sms', 'manual') AND (provider_id IS NULL OR (provider = 'twilio' AND provider_id = $2))`,
        params: [e.attemptId, e.messageSid],
      }
    : { where: `provider = 'twilio' AND provider_id = $1`, params: [e.messageSid] };
}

/**
 * Whether a message moves its delivery (sent, delivered, heard): the person's own alert and task
 * SMS do; a notice about someone else does only for a person whose whole chain is notices.
 */
export const OWN_MESSAGE = `(a.purpose <> 'notice' OR d.escalated_from IS NOT NULL)`;

/**
 * The chain's moves driven by what providers report (a carrier receipt, a call's end, a message
 * heard through): each one statement guarded by the state table, in one transaction with its
 * audit event, and nothing when the row is not in a state the move starts from (a callback
 * delivered twice, late or out of order). Callers (the provider webhooks, the status poll) decide
 * what follows (fail over, call again).
 */
@Injectable()
export class ChainMoves {
  constructor(
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * Whether a provider's callback about this attempt should record its id: the attempt is
   * `sending` with no provider id and its try has let go (its request left unanswered, or failed
   * after it was written). One indexed read on the answers' pool, never behind the fan-out's
   * statements; most callbacks find their attempt recorded already.
   */
  async awaitsProviderId(attemptId: string): Promise<boolean> {
    const [open] = await this.db.query<{ id: string }[]>(
      `SELECT id FROM contact_attempts
        WHERE id = $1 AND status = 'sending' AND provider_id IS NULL
          AND (unanswered_at IS NOT NULL OR claim_token IS NULL)`,
      [attemptId],
    );
    return !!open;
  }

  /** An SMS delivered (carrier receipt): the attempt, and the delivery when it is the person's own. */
  async markSmsDelivered(match: SmsMatch, e: { messageSid: string }): Promise<void> {
    await this.db.transaction(async (m) => {
      const [delivered] = await rows<{ id: string; deliveryId: string; warningId: string }>(
        m,
        `WITH a AS (
             UPDATE contact_attempts SET status = 'delivered', delivered_at = coalesce(delivered_at, now())
              WHERE ${match.where} AND status IN ${sqlList(attemptFrom('markDelivered'))}
              RETURNING id, delivery_id, warning_id, purpose),
           d AS (
             UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markDelivered'))} THEN 'delivered' ELSE d.state END,
                    delivered_at = coalesce(d.delivered_at, now())
               FROM a WHERE d.id = a.delivery_id AND ${OWN_MESSAGE}
             RETURNING d.id)
           SELECT a.id, a.delivery_id AS "deliveryId", a.warning_id AS "warningId" FROM a`,
        match.params,
      );
      // A receipt delivered twice finds the attempt delivered already: nothing to record.
      if (!delivered) return;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.delivered',
            subjectType: 'attempt',
            subjectId: delivered.id,
            warningId: delivered.warningId,
            data: { deliveryId: delivered.deliveryId, providerId: e.messageSid },
          },
        ],
        m,
      );
    });
  }

  /**
   * Carrier receipts of many SMS at once (the status poll's listing of what the provider sent):
   * the same move as `markSmsDelivered`, for a page of attempts in one statement and one
   * transaction with their audit events. An attempt is matched by its id and its recorded provider
   * id together. Returns the attempts moved (one already delivered, or past it, is left alone).
   */
  async markSmsDeliveredMany(
    items: { attemptId: string; messageSid: string }[],
  ): Promise<string[]> {
    if (!items.length) return [];
    return this.db.transaction(async (m) => {
      const delivered = await rows<{
        id: string;
        deliveryId: string;
        warningId: string;
        providerId: string;
      }>(
        m,
        `WITH x AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS x(id, provider_id)),
           a AS (
             UPDATE contact_attempts c SET status = 'delivered', delivered_at = coalesce(c.delivered_at, now())
               FROM x
              WHERE c.id = x.id AND c.channel IN ('sms', 'manual') AND c.provider = 'twilio' AND c.provider_id = x.provider_id
                AND c.status IN ${sqlList(attemptFrom('markDelivered'))}
              RETURNING c.id, c.delivery_id, c.warning_id, c.purpose, c.provider_id),
           d AS (
             UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markDelivered'))} THEN 'delivered' ELSE d.state END,
                    delivered_at = coalesce(d.delivered_at, now())
               FROM a WHERE d.id = a.delivery_id AND ${OWN_MESSAGE}
             RETURNING d.id)
           SELECT a.id, a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.provider_id AS "providerId" FROM a`,
        [items.map((i) => i.attemptId), items.map((i) => i.messageSid)],
      );
      await this.audit.append(
        delivered.map((a) => ({
          actor: 'provider:twilio',
          action: 'attempt.delivered',
          subjectType: 'attempt',
          subjectId: a.id,
          warningId: a.warningId,
          data: { deliveryId: a.deliveryId, providerId: a.providerId },
        })),
        m,
      );
      return delivered.map((a) => a.id);
    });
  }

  /** The callee picked up (in-progress): when, once. */
  async markCallAnswered(attemptId: string): Promise<void> {
    await this.db.query(
      `UPDATE contact_attempts SET answered_at = coalesce(answered_at, now()) WHERE id = $1`,
      [attemptId],
    );
  }

  /** A call ended: completed, or hung up early (nothing heard, no key) in the same statement. */
  async completeCall(attemptId: string, e: { duration?: number }) {
    return this.db.transaction(async (m) => {
      const [call] = await rows<{
        deliveryId: string;
        warningId: string;
        heard: boolean;
        outcome: string;
        durationS: number | null;
      }>(
        m,
        `WITH a AS (
             UPDATE contact_attempts SET status = 'completed',
                    outcome = CASE WHEN NOT heard AND coalesce(digits, '') = '' THEN 'hung_up_early'
                                   ELSE coalesce(outcome, 'completed') END,
                    duration_s = $2, completed_at = now(), answered_at = coalesce(answered_at, now())
              WHERE id = $1 AND status IN ${sqlList(attemptFrom('complete'))}
              RETURNING delivery_id, warning_id, heard, outcome, duration_s, purpose),
           d AS (
             UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markDelivered'))} THEN 'delivered' ELSE d.state END,
                    delivered_at = coalesce(d.delivered_at, now())
               FROM a WHERE d.id = a.delivery_id AND ${OWN_MESSAGE}
             RETURNING d.id)
           SELECT a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.heard, a.outcome,
                     a.duration_s AS "durationS" FROM a`,
        [attemptId, e.duration ?? null],
      );
      // A status callback delivered twice finds the call completed already: nothing to record.
      if (!call) return undefined;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.completed',
            subjectType: 'attempt',
            subjectId: attemptId,
            warningId: call.warningId,
            data: {
              deliveryId: call.deliveryId,
              heard: call.heard,
              outcome: call.outcome,
              durationS: call.durationS,
            },
          },
        ],
        m,
      );
      return call;
    });
  }

  /** A call not answered, busy, failed or cancelled. */
  async failCall(attemptId: string, outcome: string, e: { errorCode?: string }) {
    return this.db.transaction(async (m) => {
      const [failed] = await rows<{ deliveryId: string; warningId: string }>(
        m,
        `UPDATE contact_attempts SET status = 'failed', outcome = $2, error_code = $3, failed_at = now()
            WHERE id = $1 AND status IN ${sqlList(attemptFrom('fail'))}
            RETURNING delivery_id AS "deliveryId", warning_id AS "warningId"`,
        [attemptId, outcome, e.errorCode ?? null],
      );
      if (!failed) return undefined;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.failed',
            subjectType: 'attempt',
            subjectId: attemptId,
            warningId: failed.warningId,
            data: { deliveryId: failed.deliveryId, code: e.errorCode ?? null, outcome },
          },
        ],
        m,
      );
      return failed;
    });
  }

  /**
   * The whole message played through without a key: heard, once. `at`: when the gateway received
   * it, for an event replayed from the inbound spool (else now).
   */
  async markHeard(attemptId: string, at?: Date): Promise<void> {
    await this.db.transaction(async (m) => {
      const [first] = await rows<{ deliveryId: string; warningId: string }>(
        m,
        `UPDATE contact_attempts SET heard = true WHERE id = $1 AND NOT heard
          RETURNING delivery_id AS "deliveryId", warning_id AS "warningId"`,
        [attemptId],
      );
      const [a] = first
        ? [first]
        : await m.query(`SELECT delivery_id AS "deliveryId" FROM contact_attempts WHERE id = $1`, [
            attemptId,
          ]);
      if (!a) return;
      // A notice heard is not the person's own alert heard (unless notices are their whole chain).
      await m.query(
        `UPDATE deliveries d SET heard_at = coalesce(d.heard_at, $3::timestamptz, now()),
                state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markHeard'))} THEN 'heard' ELSE d.state END
           FROM contact_attempts a
          WHERE a.id = $2 AND d.id = $1 AND ${OWN_MESSAGE}`,
        [a.deliveryId, attemptId, at ?? null],
      );
      if (!first) return;
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.heard',
            subjectType: 'attempt',
            subjectId: attemptId,
            warningId: first.warningId,
            data: { deliveryId: first.deliveryId, ...delayedNote(at) },
          },
        ],
        m,
      );
    });
  }

  /** An SMS (or task SMS) the carrier could not deliver: failed, once, never after delivered. */
  async failSms(match: SmsMatch, code: string | undefined, message: string, outcome: string) {
    const row = await this.db.transaction(async (m) => {
      const [failed] = await rows<{ id: string; deliveryId: string; warningId: string }>(
        m,
        `UPDATE contact_attempts SET status = 'failed', outcome = $${match.params.length + 3}, error_code = $${match.params.length + 1},
                error_message = $${match.params.length + 2}, failed_at = now()
          WHERE ${match.where} AND status IN ${sqlList(attemptFrom('fail'))}
          RETURNING id, delivery_id AS "deliveryId", warning_id AS "warningId"`,
        [...match.params, code ?? null, message, outcome],
      );
      if (!failed) return undefined;
      // Only the code: a provider's error message may quote the number.
      await this.audit.append(
        [
          {
            actor: 'provider:twilio',
            action: 'attempt.failed',
            subjectType: 'attempt',
            subjectId: failed.id,
            warningId: failed.warningId,
            data: { deliveryId: failed.deliveryId, code: code ?? null, outcome },
          },
        ],
        m,
      );
      return failed;
    });
    return row;
  }

  /**
   * An answer (keypress, SMS reply, link, on site), kept once per dedupe key; only the first
   * confirm or help moves the delivery, and help after a confirmation is a flag on top of it. An
   * effective answer also stops the person's own alert where it waits: every send of it still
   * queued is cancelled (notices about others, task SMS and releases are not their alert and go
   * on). With `key`, the key pressed on the call `key.attemptId` is recorded first (the digits, the
   * message heard, when the call was answered: a fact about the call whatever its status), and the
   * answer is the call's person's, unless the call is a notice (then only the key is recorded: the
   * caller acknowledges the notice). A key the call already holds is not written again, so a gather
   * posted twice does not wait for the transaction of the first.
   *
   * One statement, in the caller's transaction: each move guarded as its own statement was (the
   * answer inserted only under a new dedupe key, the delivery moved only from the states the
   * answer's kind moves, and only when the answer was inserted; the queued sends only when the
   * delivery moved). A confirmation in a grid with an open silent-grid edge also takes the grid's
   * answers lock (`gridAnswersLockSql`), after its move as before, so that what it resolves is read
   * by a statement of its own (`resolveForSubject`). The caller appends the audit events
   * (`answerStepEvents`) and marks the answer effective (`markEffective`) in the same transaction.
   *
   * `mayResolve` is read with the statement's snapshot, except for what the move returns: the
   * delivery row at its newest version. An edge about the person is opened under that row's lock
   * with a mark on it (`edge_opened_at`, `StepMoves.openEdge`), so an edge committed after this
   * statement began made the move wait for it and is seen by its mark: the resolving statement,
   * with a snapshot of its own, then finds it. A silent-grid edge marks every responsible person
   * of its grid (`StepMoves.openEdge`); a confirmation of one of them that finds the mark but took
   * no grid answers lock (the edge was not in its snapshot) takes it by a statement of its own
   * before resolving (`lockAfter`), so that two last confirmations that both waited for the edge
   * still take turns. A person nothing was reported about gains no statement.
   */
  async answerStep(
    m: EntityManager,
    input: Omit<AnswerInput, 'deliveryId'> & { deliveryId?: string },
    key?: { attemptId: string; digits: string; receivedAt?: Date },
  ): Promise<AnswerStep> {
    const moves = input.kind !== 'ambiguous';
    const params: unknown[] = [
      input.deliveryId ?? null,
      key ? key.attemptId : (input.attemptId ?? null),
      input.channel,
      input.kind,
      input.raw ?? null,
      input.recordedBy ?? null,
      input.reason ?? null,
      input.dedupeKey,
      input.receivedAt ?? null,
    ];
    // Placeholders of the key's and the move's values, after the answer's ($1–$9).
    const digits = key ? `$${params.push(key.digits)}` : '';
    const keyAt = key ? `$${params.push(key.receivedAt ?? null)}` : '';
    const to = moves
      ? `$${params.push(input.kind === 'confirm' ? 'confirmed' : 'declined')}::text`
      : '';
    const closed = moves ? `$${params.push([...closedFor(input.kind)])}::text[]` : '';
    const ctes = [
      key
        ? // The key on the call, first (its row before the delivery's, as every move takes them).
          // A key the call already holds (a gather posted again) writes nothing and so takes no
          // row lock: it does not wait for the transaction of the press before it.
          `kr AS (SELECT id, delivery_id, warning_id, version, msg_type, purpose, covers FROM contact_attempts WHERE id = $2::uuid),
           kw AS (
             UPDATE contact_attempts a SET digits = ${digits}, heard = true, answered_at = coalesce(a.answered_at, ${keyAt}::timestamptz, now())
               FROM kr
              WHERE a.id = kr.id AND (a.digits IS DISTINCT FROM ${digits} OR a.heard IS NOT TRUE OR a.answered_at IS NULL)
              RETURNING a.id),
           k AS (SELECT kr.*, kw.id IS NOT NULL AS written FROM kr LEFT JOIN kw ON kw.id = kr.id),
           t AS (SELECT coalesce($1::uuid, k.delivery_id) AS id FROM k WHERE k.purpose <> 'notice')`
        : `t AS (SELECT $1::uuid AS id)`,
      `d AS (SELECT d.id, d.warning_id, d.state, d.role, d.grid_code FROM deliveries d JOIN t ON d.id = t.id)`,
      `ins AS (
         INSERT INTO answers (delivery_id, attempt_id, channel, kind, raw_input, recorded_by, reason, dedupe_key, effective, received_at)
         SELECT d.id, $2::uuid, $3::text, $4::text, $5::text, $6::uuid, $7::text, $8::text, false, coalesce($9::timestamptz, now())
           FROM d
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)`,
    ];
    if (moves)
      // Row lock: of two different answers racing, the second re-reads the state and changes
      // nothing. The first answer stays the first answer: help after a confirmation is a flag on
      // top of it (help_requested_at), and the person stays confirmed with the time, channel and
      // attempt of their confirmation, which their response time is measured by. Help is flagged
      // once. An answer replayed from the inbound spool carries the time it was received.
      ctes.push(
        `mv AS (
           UPDATE deliveries SET state = CASE WHEN state = 'confirmed' THEN state ELSE ${to} END,
                  confirmed_at = coalesce(confirmed_at, $9::timestamptz, now()),
                  help_requested_at = CASE WHEN ${to} = 'declined' THEN coalesce(help_requested_at, $9::timestamptz, now()) ELSE help_requested_at END,
                  answered_attempt_id = CASE WHEN state = 'confirmed' THEN answered_attempt_id ELSE $2::uuid END,
                  answer_channel = CASE WHEN state = 'confirmed' THEN answer_channel ELSE $3::text END
             FROM ins
            WHERE deliveries.id = (SELECT id FROM t) AND deliveries.state <> ALL(${closed})
              AND NOT (${to} = 'declined' AND deliveries.help_requested_at IS NOT NULL)
           RETURNING deliveries.id, deliveries.state, deliveries.not_woken_at, deliveries.edge_opened_at)`,
        // The person's own alert stops where it waits (the call pressed is not waiting).
        // A queued send whose row a sender holds is being claimed or recorded: it is no longer
        // waiting, and the answer does not wait for it (SKIP LOCKED). Waiting would take the
        // rows in the opposite order to the senders' (they hold the attempt, then move the
        // delivery), a deadlock that could cost the answer.
        `sp AS (
           UPDATE contact_attempts c SET status = 'cancelled', outcome = 'answered'
            WHERE c.id IN (
              SELECT q.id FROM contact_attempts q JOIN mv ON q.delivery_id = mv.id
               WHERE q.status = 'queued'
                 AND q.purpose = 'warning' AND q.channel <> 'manual' AND q.msg_type <> 'cancel'
                 ${key ? 'AND q.id <> $2::uuid' : ''}
                 FOR UPDATE OF q SKIP LOCKED)
              AND c.status = 'queued'
           RETURNING 1)`,
      );
    const confirms = input.kind === 'confirm';
    if (confirms) ctes.push(`lk AS MATERIALIZED (${gridAnswersLockSql('(SELECT id FROM mv)')})`);
    const [row] = await rows<AnswerStepRow>(
      m,
      `WITH ${ctes.join(',\n')}
       SELECT d.id AS "deliveryId", d.warning_id AS "warningId", d.state, ins.id AS "answerId",
              ${moves ? 'mv.state' : 'NULL::text'} AS moved,
              ${moves ? '(SELECT count(*) FROM sp)::int' : '0'} AS cancelled,
              ${confirms ? '(SELECT count(*) FROM lk)::int' : '0'} AS locked,
              ${confirms ? `(mv.id IS NOT NULL AND (mv.not_woken_at IS NOT NULL OR mv.edge_opened_at IS NOT NULL OR ${MAY_RESOLVE_FOR('d')} OR ${HAS_OPEN_TASK('d')}))` : 'false'} AS "mayResolve",
              ${confirms ? `(mv.edge_opened_at IS NOT NULL AND d.role <> 'resident' AND d.grid_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lk))` : 'false'} AS "lockAfter"
              ${
                key
                  ? `, k.id AS "callId", k.delivery_id AS "callDeliveryId", k.warning_id AS "callWarningId",
                     k.version AS "callVersion", k.msg_type AS "callMsgType", k.purpose AS "callPurpose",
                     k.covers AS "callCovers", k.written AS "keyWritten", kp.name AS "personName", kp.role AS "personRole"`
                  : ''
              }
         FROM (SELECT 1) one
         LEFT JOIN d ON true LEFT JOIN ins ON true
         ${moves ? 'LEFT JOIN mv ON true' : ''}
         ${key ? 'LEFT JOIN k ON true LEFT JOIN deliveries kd ON kd.id = k.delivery_id LEFT JOIN people kp ON kp.id = kd.person_id' : ''}`,
      params,
    );
    return stepOfRow(row, input, key, (id) => this.stateOf(m, id));
  }

  /**
   * What a confirmation resolves about its person, in one statement after the answer's (which
   * took the grid's answers lock where needed): `resolveForSubjectIn`. With `lockAfter` (the
   * answer's `AnswerStep.lockAfter`: the row it moved was marked by an edge its statement could
   * not see), the grid's answers lock first, by a statement of its own that sees the edge.
   * Returns the audit events to append.
   */
  async resolveForSubject(
    m: EntityManager,
    deliveryId: string,
    lockAfter = false,
  ): Promise<AuditEventInput[]> {
    if (lockAfter) await m.query(gridAnswersLockSql('$1'), [deliveryId]);
    return (await resolveForSubjectIn(m, deliveryId)).events;
  }

  private async stateOf(m: EntityManager, deliveryId: string): Promise<DeliveryState> {
    const [row] = await m.query(`SELECT state FROM deliveries WHERE id = $1`, [deliveryId]);
    return row.state;
  }
}

/**
 * What a confirmation resolves about its person, in one statement: what was reported about them
 * (edges), their open door-to-door tasks closed. Run after the grid's answers lock where needed
 * (`gridAnswersLockSql`), by the answer (`ChainMoves.answerStep`) and by an edge opened about a
 * person who has already confirmed (`StepMoves.openEdge`). Returns the audit events to append in
 * the same transaction, and the edges resolved.
 */
export async function resolveForSubjectIn(
  m: EntityManager,
  deliveryId: string,
): Promise<{ events: AuditEventInput[]; edgeIds: string[] }> {
  const [row] = await rows<{
    edges: { id: string; warningId: string }[];
    tasks: { id: string; warningId: string }[];
  }>(
    m,
    `WITH resolved AS (${resolveBySubjectSql('$1::uuid')}),
          closed AS (${closeForSubjectSql('$1::uuid')})
     SELECT (SELECT coalesce(json_agg(json_build_object('id', r.id, 'warningId', r."warningId")), '[]') FROM resolved r) AS edges,
            (SELECT coalesce(json_agg(json_build_object('id', c.id, 'warningId', c."warningId")), '[]') FROM closed c) AS tasks`,
    [deliveryId],
  );
  return {
    events: [
      ...(row.edges.length ? [resolvedEvent({ subjectDeliveryId: deliveryId }, row.edges)] : []),
      ...taskClosedEvents(row.tasks, deliveryId),
    ],
    edgeIds: row.edges.map((e) => e.id),
  };
}

/** Marks an answer effective: beside the answer's audit events, one statement. */
export const markEffective =
  (answerId: string): BesideStatement =>
  (param) =>
    `UPDATE answers SET effective = true WHERE id = ${param(answerId)}`;

/** The audit event of an effective answer's queued sends cancelled (one, counted). */
export function pendingSendsStoppedEvent(
  e: { deliveryId: string; warningId: string },
  count: number,
): AuditEventInput {
  return {
    actor: 'escalation',
    action: 'attempts.cancelled',
    subjectType: 'delivery',
    subjectId: e.deliveryId,
    warningId: e.warningId,
    data: { deliveryId: e.deliveryId, count, reason: 'answered' },
  };
}

/** The call a key was pressed on, with what its texts need (the person, the version). */
export interface KeypressCall {
  id: string;
  deliveryId: string;
  warningId: string;
  version: number;
  msgType: MessageType;
  purpose: 'warning' | 'notice' | 'task';
  covers: string[] | null;
  personName: string;
  personRole: string;
}

/** What the answer's statement did. */
export interface AnswerStep {
  /** With a key: the call (undefined for an unknown attempt). */
  call?: KeypressCall;
  /** The answer (undefined for a key on a notice call or an unknown attempt). */
  result?: AnswerResult;
  /** The person's queued sends it cancelled. */
  cancelled?: number;
  /** A confirmation that moved the person, who may have edges or tasks to resolve. */
  mayResolve?: boolean;
  /**
   * A confirmation of a responsible person of a grid whose row was marked by an edge
   * (`edge_opened_at`) and whose statement took no grid answers lock: a silent-grid edge of the
   * grid may have been committed while it waited for the row, unseen by its snapshot. The lock is
   * then taken by a statement of its own before what it resolves (`resolveForSubject`).
   */
  lockAfter?: boolean;
}

export interface AnswerStepRow {
  deliveryId: string | null;
  warningId: string | null;
  state: DeliveryState | null;
  answerId: string | null;
  moved: DeliveryState | null;
  cancelled: number;
  locked: number;
  mayResolve: boolean;
  lockAfter: boolean;
  callId?: string | null;
  callDeliveryId?: string | null;
  callWarningId?: string | null;
  callVersion?: number | null;
  callMsgType?: MessageType | null;
  callPurpose?: KeypressCall['purpose'] | null;
  callCovers?: string[] | null;
  personName?: string | null;
  personRole?: string | null;
}

/**
 * What the statement's row of one answer (`ChainMoves.answerStep`, `answerSteps`) says the answer
 * did. `stateOf` re-reads the person's state where the answer moved nothing (a repeat, an answer
 * after the person's first), as the answer reports the state it found.
 */
export async function stepOfRow(
  row: AnswerStepRow,
  input: Omit<AnswerInput, 'deliveryId'> & { deliveryId?: string },
  key: { attemptId: string } | undefined,
  stateOf: (deliveryId: string) => Promise<DeliveryState>,
): Promise<AnswerStep> {
  const moves = input.kind !== 'ambiguous';
  const call: KeypressCall | undefined =
    key && row.callId
      ? {
          id: row.callId,
          deliveryId: row.callDeliveryId!,
          warningId: row.callWarningId!,
          version: row.callVersion!,
          msgType: row.callMsgType!,
          purpose: row.callPurpose!,
          covers: row.callCovers ?? null,
          personName: row.personName!,
          personRole: row.personRole!,
        }
      : undefined;
  if (key && (!call || call.purpose === 'notice')) return { call };
  if (!row.deliveryId) throw AppException.notFound('投递 delivery', input.deliveryId ?? '');
  const base = { deliveryId: row.deliveryId, warningId: row.warningId! };
  let result: AnswerResult;
  if (!row.answerId) {
    result = {
      ...base,
      recorded: false,
      effective: false,
      state: await stateOf(base.deliveryId),
    };
  } else if (!moves) {
    result = {
      ...base,
      recorded: true,
      effective: false,
      state: row.state!,
      answerId: row.answerId,
    };
  } else if (!row.moved) {
    result = {
      ...base,
      recorded: true,
      effective: false,
      state: await stateOf(base.deliveryId),
      answerId: row.answerId,
    };
  } else {
    result = {
      ...base,
      recorded: true,
      effective: true,
      state: row.moved,
      answerId: row.answerId,
    };
  }
  return {
    call,
    result,
    cancelled: row.cancelled,
    mayResolve: row.mayResolve,
    lockAfter: row.lockAfter,
  };
}
