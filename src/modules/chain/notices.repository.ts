import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { ChannelKind } from '../../channels/channel.types';
import { inTransaction, rows } from '../../database/sql';
import { AuditService, type AuditEventInput } from '../audit/audit.service';
import type { PlannedAttempt } from './contact-plan';
import { attemptFrom, edgeGuard, sqlList } from './chain-states';
import { claimFree } from './send-claims';
import { delayedNote } from './answers.types';

/** Why someone was brought into another person's chain. */
export type EscalationReason = 'not_woken' | 'help_requested' | 'group_silent';

/** A notice that went out (or is going out) and so covers its edges on that channel. */
const LIVE_NOTICE = `(o.status IN ('sending', 'sent', 'delivered') OR (o.status = 'completed' AND o.outcome IS DISTINCT FROM 'hung_up_early'))`;

/**
 * A written notice (SMS, e-mail) the provider accepted for `address` that then failed (a carrier's
 * `undelivered`): its edges are covered on that address too. A message a provider accepted is
 * never sent again; the chain fails over to the person's next contact point instead, and a later
 * notice to the address reports only what is new. (A failed call covers nothing: calls are placed
 * again by the policy's retries.)
 */
const ACCEPTED_AT = (address: string) =>
  `(o.channel <> 'voice' AND o.status = 'failed' AND o.sent_at IS NOT NULL AND o.address = ${address})`;

/** A notice `o` that reported its edges on the channel, to `address` when it failed. */
const COVERING = (address: string) => `(${LIVE_NOTICE} OR ${ACCEPTED_AT(address)})`;

/**
 * An edge the notice `attempt` is still to report: open, or acknowledged by the superior on another
 * channel after this written notice (SMS, e-mail) was queued. The written notice is the record
 * that names the people, their numbers and places (a call reads out a few names): a keypress on
 * the call that went out beside it does not stop it. A call is not placed for what was
 * acknowledged; nothing goes out once the subject answered or the task was done.
 */
const TO_REPORT = (attempt: string) => `
  (e.resolved_at IS NULL
   OR (${attempt}.channel <> 'voice' AND e.resolution = 'acknowledged' AND e.acknowledged_at >= ${attempt}.queued_at))`;

/** Edges to the attempt's delivery it is to report that no live notice on its channel reported yet. */
const UNCOVERED_EDGES = (attempt: string) => `
  SELECT coalesce(array_agg(e.id ORDER BY e.created_at), '{}') FROM escalations e
   WHERE e.to_delivery_id = ${attempt}.delivery_id AND ${TO_REPORT(attempt)}
     AND NOT EXISTS (SELECT 1 FROM contact_attempts o
                      WHERE o.delivery_id = ${attempt}.delivery_id AND o.purpose = 'notice' AND o.channel = ${attempt}.channel
                        AND o.id <> ${attempt}.id AND e.id = ANY(o.covers) AND ${COVERING(`${attempt}.address`)})`;

/** One person reported by a notice: who, where, why. */
export interface NoticeSubject {
  edgeId: string;
  name: string;
  role: string;
  place: string;
  reason: EscalationReason;
  attempts: number;
  /**
   * A grid reported by its group rule: the rule's figures (the confirmations it required, the
   * grid's responsible persons at its due time, how many of them have confirmed by now) and who of
   * them has still not confirmed. Absent for other reasons.
   */
  group?: {
    rule: 'one' | 'all' | 'at_least';
    required: number;
    total: number;
    confirmed: number;
    unconfirmed: string[];
  };
}

/**
 * The group rule's outcome for the grid of `f` (the edge's anchor delivery), of the latest
 * version evaluated.
 */
const GRID_OUTCOME = (f: string) => `
  SELECT o.* FROM group_rule_outcomes o
   WHERE o.warning_id = ${f}.warning_id AND o.grid_code = ${f}.grid_code
   ORDER BY o.version DESC LIMIT 1`;

/**
 * Responsible persons of the grid of delivery `s` on the warning who have confirmed:
 * the count the group rule's requirement is checked against when one of them answers.
 */
/** Advisory lock space (first key) of the answers of one grid with an open silent-grid edge. */
const GRID_ANSWERS_LOCK = 7_263_301;

const GRID_CONFIRMED = (s: string) => `
  SELECT count(*) FROM deliveries c
   WHERE c.warning_id = ${s}.warning_id AND c.grid_code = ${s}.grid_code AND c.role <> 'resident'
     AND c.msg_type <> 'cancel' AND c.state = 'confirmed'`;

/** Whether delivery `s` is a responsible person of a grid with an open silent-grid edge. */
const IN_SILENT_GRID = (s: string) => `
  ${s}.role <> 'resident' AND ${s}.grid_code IS NOT NULL
  AND EXISTS (SELECT 1 FROM escalations e JOIN deliveries f ON f.id = e.from_delivery_id
               WHERE e.warning_id = ${s}.warning_id AND e.reason = 'group_silent'
                 AND e.resolved_at IS NULL AND f.grid_code = ${s}.grid_code)`;

/**
 * SQL: the lock answers in a grid with an open silent-grid edge take turns on, for the subject
 * delivery `subject` (a parameter or a scalar subquery); nothing for anyone else. Two last
 * confirmations of a grid committing together would each miss the other's (read committed) and
 * leave the edge open although the grid's rule is met: once the lock is held, a statement of its
 * own (`resolveBySubjectSql`) sees what the answer before committed.
 */
export const gridAnswersLockSql = (subject: string) => `
  SELECT pg_advisory_xact_lock(${GRID_ANSWERS_LOCK}, hashtext(s.warning_id::text || s.grid_code))
    FROM deliveries s
   WHERE s.id = ${subject} AND ${IN_SILENT_GRID('s')}`;

/**
 * SQL: `gridAnswersLockSql` for several subject deliveries at once (`subjects`: a subquery of
 * delivery ids), one row (`id`) per subject that took its grid's lock; the locks are taken in the
 * order of their keys, so that two statements taking several never wait for each other in a
 * circle.
 */
export const gridAnswersLocksSql = (subjects: string) => `
  SELECT l.id, pg_advisory_xact_lock(${GRID_ANSWERS_LOCK}, l.key)
    FROM (SELECT s.id, hashtext(s.warning_id::text || s.grid_code) AS key
            FROM deliveries s
           WHERE s.id IN (${subjects}) AND ${IN_SILENT_GRID('s')}
           ORDER BY 2 OFFSET 0) l`;

/**
 * SQL: what was reported about the subject delivery `subject` resolved by their confirmation
 * (their not-woken edges; their grid's silent-grid edges when they are responsible there and the
 * grid now meets its rule), guarded by the edge table. Returns `id`, `warningId`. A statement of
 * its own, after `gridAnswersLockSql`.
 */
export const resolveBySubjectSql = (subject: string) => `
  UPDATE escalations e SET resolved_at = now(), resolution = 'subject_answered'
    FROM deliveries s, deliveries f
   WHERE s.id = ${subject} AND f.id = e.from_delivery_id AND ${edgeGuard('resolveBySubject', 'e')} AND e.warning_id = s.warning_id
     AND ((e.reason = 'not_woken' AND e.from_delivery_id = s.id)
       OR (e.reason = 'group_silent' AND s.role <> 'resident' AND f.grid_code = s.grid_code
           AND (${GRID_CONFIRMED('s')}) >= coalesce((SELECT o.required FROM (${GRID_OUTCOME('f')}) o), 1)))
   RETURNING e.id, e.warning_id AS "warningId"`;

/**
 * SQL (a boolean): whether the subject delivery `s` may have something a confirmation resolves,
 * as far as this statement sees: an open not-woken edge from it, or it is responsible in a grid
 * (whose silent-grid edge it may resolve).
 */
export const MAY_RESOLVE_FOR = (s: string) => `
  ((${s}.role <> 'resident' AND ${s}.grid_code IS NOT NULL)
   OR EXISTS (SELECT 1 FROM escalations e WHERE e.from_delivery_id = ${s}.id AND e.reason = 'not_woken'
                AND ${edgeGuard('resolveBySubject', 'e')}))`;

/** The audit event of edges resolved (none when `resolved` is empty: the caller checks). */
export function resolvedEvent(
  by: { subjectDeliveryId: string } | { taskId: string },
  resolved: { id: string; warningId: string }[],
): AuditEventInput {
  return {
    actor: 'escalation',
    action: 'escalations.resolved',
    subjectType: 'taskId' in by ? 'task' : 'delivery',
    subjectId: 'taskId' in by ? by.taskId : by.subjectDeliveryId,
    warningId: resolved[0].warningId,
    data: {
      escalationIds: resolved.map((r) => r.id),
      resolution: 'taskId' in by ? 'task_done' : 'subject_answered',
    },
  };
}

/**
 * Notices: messages to a superior about someone else (a request for help, a person not woken, a
 * silent grid), kept apart from the superior's own alert. A notice is stopped only when every
 * edge it reports is resolved (acknowledged by the superior, the subject answered, the task was
 * done), never by the superior's answer to their own alert. Per person and channel at most one
 * notice waits in the queue; it reports, when it is claimed, every open edge no earlier notice on
 * that channel reported, so a digest is never sent twice.
 */
@Injectable()
export class NoticesRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * Queues a notice on each planned channel of the target's delivery, unless one waits already on
   * that channel or every open edge to the target was reported on it. Returns what to enqueue.
   */
  async queue(
    deliveryId: string,
    planned: PlannedAttempt[],
    priority: number,
  ): Promise<{ id: string; channel: ChannelKind; priority: number }[]> {
    if (!planned.length) return [];
    return this.db.transaction(async (m) => {
      const inserted = await rows<{
        id: string;
        warningId: string;
        version: number;
        msgType: string;
        seq: number;
        channel: ChannelKind;
        contactKind: string;
      }>(
        m,
        `WITH p AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS p(channel, contact_kind, address, n)),
              d AS (SELECT id, warning_id, version, msg_type FROM deliveries WHERE id = $1),
              base AS (SELECT coalesce(max(seq), -1) AS seq FROM contact_attempts WHERE delivery_id = $1)
         INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, purpose)
         SELECT d.id, d.warning_id, d.version, d.msg_type, base.seq + p.n, p.channel, p.contact_kind, p.address, $5, 'notice'
           FROM p, d, base
          WHERE EXISTS (
            SELECT 1 FROM escalations e
             WHERE e.to_delivery_id = d.id AND e.resolved_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM contact_attempts o
                                WHERE o.delivery_id = d.id AND o.purpose = 'notice' AND o.channel = p.channel
                                  AND e.id = ANY(o.covers) AND ${COVERING('p.address')}))
         ON CONFLICT DO NOTHING
         RETURNING id, warning_id AS "warningId", version, msg_type AS "msgType", seq, channel, contact_kind AS "contactKind"`,
        [
          deliveryId,
          planned.map((p) => p.channel),
          planned.map((p) => p.contactKind),
          planned.map((p) => p.address),
          priority,
        ],
      );
      await this.audit.append(
        inserted.map((a) => ({
          actor: 'escalation',
          action: 'attempt.created',
          subjectType: 'attempt',
          subjectId: a.id,
          warningId: a.warningId,
          data: {
            deliveryId,
            version: a.version,
            msgType: a.msgType,
            seq: a.seq,
            channel: a.channel,
            contactKind: a.contactKind,
            purpose: 'notice',
          },
        })),
        m,
      );
      return inserted.map((a) => ({ id: a.id, channel: a.channel, priority }));
    });
  }

  /**
   * A notice sent again on purpose (a call retried, the next step of a chain that a notice
   * started): it reports what `covers` names, or every open edge to the delivery (`'open'`).
   */
  async repeat(
    deliveryId: string,
    planned: PlannedAttempt[],
    priority: number,
    covers: string[] | 'open',
  ): Promise<{ id: string; channel: ChannelKind; priority: number }[]> {
    if (!planned.length) return [];
    return this.db.transaction(async (m) => {
      const inserted = await rows<{
        id: string;
        warningId: string;
        seq: number;
        channel: ChannelKind;
      }>(
        m,
        `WITH p AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS p(channel, contact_kind, address, n)),
              d AS (SELECT id, warning_id, version, msg_type FROM deliveries WHERE id = $1),
              base AS (SELECT coalesce(max(seq), -1) AS seq FROM contact_attempts WHERE delivery_id = $1),
              c AS (SELECT CASE WHEN $6::boolean
                                THEN (SELECT coalesce(array_agg(e.id ORDER BY e.created_at), '{}') FROM escalations e
                                       WHERE e.to_delivery_id = $1 AND e.resolved_at IS NULL)
                                ELSE $7::uuid[] END AS covers)
         INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, purpose, covers)
         SELECT d.id, d.warning_id, d.version, d.msg_type, base.seq + p.n, p.channel, p.contact_kind, p.address, $5, 'notice', c.covers
           FROM p, d, base, c WHERE cardinality(c.covers) > 0
         ON CONFLICT DO NOTHING
         RETURNING id, warning_id AS "warningId", seq, channel`,
        [
          deliveryId,
          planned.map((p) => p.channel),
          planned.map((p) => p.contactKind),
          planned.map((p) => p.address),
          priority,
          covers === 'open',
          covers === 'open' ? [] : covers,
        ],
      );
      await this.audit.append(
        inserted.map((a) => ({
          actor: 'escalation',
          action: 'attempt.created',
          subjectType: 'attempt',
          subjectId: a.id,
          warningId: a.warningId,
          data: { deliveryId, seq: a.seq, channel: a.channel, purpose: 'notice', repeat: true },
        })),
        m,
      );
      return inserted.map((a) => ({ id: a.id, channel: a.channel, priority }));
    });
  }

  /**
   * Claims a notice for sending and fixes what it reports (a retried send keeps what its first
   * claim fixed). Undefined when it is no longer queued; `open` 0 when everything it would report
   * is resolved (for a written notice: other than by an acknowledgement made after it was queued)
   * or was reported already: then nothing is to be sent.
   */
  async claim(
    attemptId: string,
    token: string,
    leaseSeconds: number,
  ): Promise<{ covers: string[]; open: number } | undefined> {
    const [claimed] = await rows<{ covers: string[]; open: number }>(
      this.db,
      `UPDATE contact_attempts a SET status = 'sending', tries = a.tries + 1, claimed_at = now(),
              claim_token = $2, covers = coalesce(a.covers, (${UNCOVERED_EDGES('a')}))
        WHERE a.id = $1 AND a.purpose = 'notice' AND a.status IN ${sqlList(attemptFrom('claim'))}
          AND ${claimFree('a', '$3')}
        RETURNING a.covers,
                  (SELECT count(*)::int FROM escalations e WHERE e.id = ANY(a.covers) AND ${TO_REPORT('a')}) AS open`,
      [attemptId, token, leaseSeconds],
    );
    return claimed;
  }

  /** Who the notice reports, in the order they were escalated. */
  async subjects(edgeIds: string[]): Promise<NoticeSubject[]> {
    if (!edgeIds.length) return [];
    // A silent grid: its group rule's figures, who has confirmed counted now (a notice never
    // names as unconfirmed someone who has confirmed since the rule was due).
    const found = await this.db.query<
      (Omit<NoticeSubject, 'group'> & { group: NoticeSubject['group'] | null })[]
    >(
      `SELECT e.id AS "edgeId", p.name, p.role, coalesce(g.name, dv.name, p.division_code) AS place, e.reason,
              (SELECT count(*)::int FROM contact_attempts a WHERE a.delivery_id = d.id AND a.purpose = 'warning'
                  AND a.status NOT IN ('queued', 'cancelled')) AS attempts,
              CASE WHEN e.reason = 'group_silent' AND o.grid_code IS NOT NULL THEN json_build_object(
                'rule', o.rule ->> 'rule', 'required', o.required, 'total', o.total,
                'confirmed', o.total - cardinality(u.names), 'unconfirmed', to_json(u.names)) END AS "group"
         FROM escalations e JOIN deliveries d ON d.id = e.from_delivery_id JOIN people p ON p.id = d.person_id
         LEFT JOIN grids g ON g.code = coalesce(d.grid_code, p.grid_code) LEFT JOIN divisions dv ON dv.code = p.division_code
         LEFT JOIN LATERAL (${GRID_OUTCOME('d')}) o ON e.reason = 'group_silent'
         LEFT JOIN LATERAL (
           SELECT coalesce(array_agg(up.name ORDER BY up.name COLLATE "C", up.id), '{}') AS names
             FROM people up JOIN deliveries c ON c.person_id = up.id AND c.warning_id = e.warning_id
            WHERE up.id = ANY(o.unconfirmed) AND c.state <> 'confirmed') u ON o.grid_code IS NOT NULL
        WHERE e.id = ANY($1::uuid[]) ORDER BY e.created_at`,
      [edgeIds],
    );
    return found.map(({ group, ...s }) => (group ? { ...s, group } : s));
  }

  /**
   * The superior acknowledged a notice (keypress, SMS reply): the answer is kept (once per dedupe
   * key) and every edge the notice reported is acknowledged and resolved, with its channel and
   * time, in one transaction with its audit event.
   */
  async acknowledge(input: {
    attemptId: string;
    kind: 'confirm' | 'help' | 'ambiguous';
    channel: 'voice' | 'sms';
    raw?: string | null;
    dedupeKey: string;
    /** When it was received, for an answer replayed from the inbound spool (else now). */
    receivedAt?: Date;
  }): Promise<
    { recorded: boolean; acknowledged: number; deliveryId: string; warningId: string } | undefined
  > {
    return this.db.transaction(async (m) => {
      const [a] = await m.query(
        `SELECT a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.covers FROM contact_attempts a
          WHERE a.id = $1 AND a.purpose = 'notice'`,
        [input.attemptId],
      );
      if (!a) return undefined;
      const [answer] = await m.query(
        `INSERT INTO answers (delivery_id, attempt_id, channel, kind, raw_input, dedupe_key, effective, about, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, false, 'notice', coalesce($7::timestamptz, now()))
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
        [
          a.deliveryId,
          input.attemptId,
          input.channel,
          input.kind,
          input.raw ?? null,
          input.dedupeKey,
          input.receivedAt ?? null,
        ],
      );
      const base = { deliveryId: a.deliveryId as string, warningId: a.warningId as string };
      if (!answer) return { ...base, recorded: false, acknowledged: 0 };
      const edges =
        input.kind === 'ambiguous'
          ? []
          : await rows<{ id: string }>(
              m,
              `UPDATE escalations SET acknowledged_at = coalesce($4::timestamptz, now()), ack_channel = $2, ack_attempt_id = $3,
                      resolved_at = coalesce(resolved_at, $4::timestamptz, now()), resolution = coalesce(resolution, 'acknowledged')
                WHERE id = ANY($1::uuid[]) AND ${edgeGuard('acknowledge')} AND acknowledged_at IS NULL RETURNING id`,
              [a.covers ?? [], input.channel, input.attemptId, input.receivedAt ?? null],
            );
      if (edges.length)
        await m.query(`UPDATE answers SET effective = true WHERE id = $1`, [answer.id]);
      await this.audit.append(
        [
          {
            actor: `provider:${input.channel}`,
            action: 'notice.acknowledged',
            subjectType: 'attempt',
            subjectId: input.attemptId,
            warningId: base.warningId,
            data: {
              deliveryId: base.deliveryId,
              answerId: answer.id,
              kind: input.kind,
              channel: input.channel,
              escalationIds: edges.map((e) => e.id),
              ...delayedNote(input.receivedAt),
            },
          },
        ],
        m,
      );
      return { ...base, recorded: true, acknowledged: edges.length };
    });
  }

  /**
   * What a notice reported has been resolved without the superior: the subject answered (their
   * not-woken edges, and the silent-grid edges of their grid when they are responsible there and
   * the grid's confirmations now meet what its group rule required: one, all, or N of them),
   * or the door-to-door task was done. Waiting notices that report nothing open any more are
   * cancelled when claimed. One audit event with the edges resolved.
   */
  async resolve(
    by: { subjectDeliveryId: string } | { taskId: string },
    /** The caller's transaction (an answer's), else one of its own. */
    tx?: EntityManager,
  ): Promise<number> {
    return inTransaction(this.db, tx, async (m) => {
      if (!('taskId' in by))
        // Two last confirmations of a grid committing together would each miss the other's (read
        // committed) and leave the grid's silent-grid edge open although its rule is met: answers
        // in a grid with such an open edge take turns here, and the UPDATE below, a statement of
        // its own, sees what the one before committed.
        await m.query(gridAnswersLockSql('$1'), [by.subjectDeliveryId]);
      const resolved =
        'taskId' in by
          ? await rows<{ id: string; warningId: string }>(
              m,
              `UPDATE escalations SET resolved_at = now(), resolution = 'task_done'
                WHERE task_id = $1 AND ${edgeGuard('resolveByTask')} RETURNING id, warning_id AS "warningId"`,
              [by.taskId],
            )
          : await rows<{ id: string; warningId: string }>(m, resolveBySubjectSql('$1'), [
              by.subjectDeliveryId,
            ]);
      if (!resolved.length) return 0;
      await this.audit.append([resolvedEvent(by, resolved)], m);
      return resolved.length;
    });
  }
}
