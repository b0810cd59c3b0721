import {
  ANSWERED_IN_STEP_TIME,
  ENTERED_AT,
  NOTICE_ACK_JOIN,
  NOTICE_ACK_TIME,
  REACH_DEADLINE_AT,
  REACHED_AT,
  REACHED_IN_TIME,
  STEP_DEADLINE_AT,
} from '../chain/chain-times.sql';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import type { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { rows } from '../../database/sql';
import type {
  AttemptRow,
  ChainFilters,
  ChainRow,
  GroupBy,
  GroupRow,
  ReportScope,
} from './reports.types';

/** States in which the person was reached (carrier receipt or better). */
export const REACHED = `('delivered', 'heard', 'confirmed', 'declined')`;

/**
 * Carrier codes of numbers that do not exist or cannot take messages (Twilio: 30003 unreachable,
 * 30005 unknown destination, 30006 landline or unreachable carrier, 21211/21614 invalid number,
 * 30004 blocked). Attempts that failed with them, or with an undelivered / invalid / failed
 * outcome, make a contact point "dead".
 */
export const DEAD_CODES = ['30003', '30004', '30005', '30006', '21211', '21614', '21612', '13224'];
const DEAD_ATTEMPT = `a.status = 'failed' AND a.channel IN ('sms', 'voice')
  AND (a.outcome IN ('undelivered', 'invalid', 'failed') OR a.error_code IN (${DEAD_CODES.map((c) => `'${c}'`).join(', ')}))`;

const secs = (expr: string) => `round(extract(epoch FROM ${expr})::numeric, 1)::float8`;

/**
 * Deadline of a delivery: its policy's reach deadline from the person's entry into the chain
 * (the issue, or the escalation that brought them in); breached when reached late or not yet.
 */
const BREACHED = `CASE WHEN pol.reach_deadline_seconds IS NULL THEN NULL
  ELSE coalesce(${REACHED_AT} > ${REACH_DEADLINE_AT}, now() > ${REACH_DEADLINE_AT}) END`;

const CHAIN_SELECT = `
  SELECT d.id AS "deliveryId", p.id AS "personId", p.external_id AS "externalId", p.name, d.role,
         d.division_code AS "divisionCode", d.grid_code AS "gridCode", d.state,
         (SELECT cp.value FROM contact_points cp WHERE cp.person_id = p.id
           ORDER BY (cp.kind IN ('mobile', 'landline', 'satellite')) DESC, cp.priority LIMIT 1) AS contact,
         (SELECT count(*)::int FROM contact_attempts a WHERE a.delivery_id = d.id) AS attempts,
         d.first_attempt_at AS "firstAttemptAt", d.delivered_at AS "deliveredAt", d.heard_at AS "heardAt",
         d.confirmed_at AS "confirmedAt", d.answer_channel AS "answerChannel",
         fp.id AS "escalatedFromPersonId", fp.name AS "escalatedFromName", d.escalation_reason AS "escalationReason",
         (d.not_woken_at IS NOT NULL AND d.state NOT IN ('confirmed', 'declined')) AS "notWoken",
         d.not_woken_at AS "notWokenAt", d.help_requested_at AS "helpRequestedAt",
         ${ENTERED_AT} AS "enteredAt",
         ${secs(`d.confirmed_at - ${ENTERED_AT}`)} AS "entryToAnswerSeconds",
         ${STEP_DEADLINE_AT} AS "stepDeadlineAt",
         ${ANSWERED_IN_STEP_TIME} AS "answeredInStepTime",
         ${secs('d.first_attempt_at - w.created_at')} AS "issueToFirstAttemptSeconds",
         ${secs('d.delivered_at - w.created_at')} AS "issueToDeliverySeconds",
         ${secs('d.confirmed_at - w.created_at')} AS "issueToAnswerSeconds",
         ${secs('d.confirmed_at - d.first_attempt_at')} AS "firstAttemptToAnswerSeconds",
         pol.reach_deadline_seconds AS "reachDeadlineSeconds",
         ${REACHED_IN_TIME} AS "reachedInTime",
         ${BREACHED} AS "deadlineBreached",
         na.first_edge_at AS "firstNoticeAt", na.acked_at AS "noticeAcknowledgedAt",
         na.ack_channel AS "noticeAckChannel", ${secs(NOTICE_ACK_TIME)} AS "noticeAckSeconds"
    FROM deliveries d
    JOIN people p ON p.id = d.person_id
    JOIN warnings w ON w.id = d.warning_id
    LEFT JOIN escalation_policies pol ON pol.id = d.policy_id
    LEFT JOIN deliveries fd ON fd.id = d.escalated_from
    LEFT JOIN people fp ON fp.id = fd.person_id
    ${NOTICE_ACK_JOIN}`;

const GROUP_KEY: Record<GroupBy, string> = {
  township: `CASE WHEN length(d.division_code) >= 9 THEN left(d.division_code, 9) END`,
  village: `CASE WHEN length(d.division_code) >= 12 THEN left(d.division_code, 12) END`,
  grid: `d.grid_code`,
  role: `d.role`,
};

/** A WHERE clause and its parameters, built up filter by filter. */
class Where {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];
  add(sql: (p: (v: unknown) => string) => string): this {
    this.parts.push(
      sql((v) => {
        this.params.push(v);
        return `$${this.params.length}`;
      }),
    );
    return this;
  }
  toString(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

function scopeWhere(scope: ReportScope): Where {
  const w = new Where();
  if (scope.kind === 'warning') {
    w.add((p) => `d.warning_id = ${p(scope.warningId)}`);
  } else {
    w.add((p) => `w.created_at >= ${p(scope.from)}`);
    w.add((p) => `w.created_at < ${p(scope.to)}`);
    w.add((p) => `w.status = ${p(scope.status)}`);
    if (scope.jurisdiction)
      w.add((p) => `starts_with(w.issuer_division, ${p(scope.jurisdiction)})`);
  }
  if (scope.gridCode) w.add((p) => `d.grid_code = ${p(scope.gridCode)}`);
  return w;
}

/** Reads of chains and reports; nothing here writes. */
@Injectable()
export class ReportsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The SQL and parameters of a warning's chains, filtered (also used for the CSV cursor). */
  chainQuery(warningId: string, f: ChainFilters, scopeGrid: string | null) {
    const w = new Where().add((p) => `d.warning_id = ${p(warningId)}`);
    if (scopeGrid) w.add((p) => `d.grid_code = ${p(scopeGrid)}`);
    if (f.states?.length) w.add((p) => `d.state = ANY(${p(f.states)}::text[])`);
    if (f.division) w.add((p) => `starts_with(d.division_code, ${p(f.division)})`);
    if (f.grid) w.add((p) => `d.grid_code = ${p(f.grid)}`);
    if (f.role) w.add((p) => `d.role = ${p(f.role)}`);
    return { sql: `${CHAIN_SELECT} ${w}`, where: w };
  }

  async chains(
    warningId: string,
    f: ChainFilters,
    scopeGrid: string | null,
    limit: number,
    offset: number,
  ): Promise<{ total: number; items: ChainRow[] }> {
    const { sql, where } = this.chainQuery(warningId, f, scopeGrid);
    const [count] = await rows<{ n: number }>(
      this.db,
      `SELECT count(*)::int AS n FROM deliveries d ${where}`,
      where.params,
    );
    const items = await rows<ChainRow>(
      this.db,
      `${sql} ORDER BY d.created_at, d.id LIMIT ${Number(limit)} OFFSET ${Number(offset)}`,
      where.params,
    );
    return { total: count.n, items };
  }

  async chainOf(warningId: string, personId: string): Promise<ChainRow | undefined> {
    const [row] = await rows<ChainRow>(
      this.db,
      `${CHAIN_SELECT} WHERE d.warning_id = $1 AND d.person_id = $2`,
      [warningId, personId],
    );
    return row;
  }

  async attempts(deliveryId: string) {
    return rows<AttemptRow>(
      this.db,
      `SELECT id, version, msg_type AS "msgType", seq, purpose, channel, contact_kind AS "contactKind", address,
              priority, status, outcome, provider, provider_id AS "providerId", error_code AS "errorCode",
              error_message AS "errorMessage", tries, segments, duration_s AS "durationSeconds", heard, digits,
              task_id AS "taskId", queued_at AS "queuedAt", sent_at AS "sentAt", delivered_at AS "deliveredAt",
              answered_at AS "answeredAt", completed_at AS "completedAt", failed_at AS "failedAt"
         FROM contact_attempts WHERE delivery_id = $1 ORDER BY queued_at, version, seq`,
      [deliveryId],
    );
  }

  async answers(deliveryId: string) {
    return rows(
      this.db,
      `SELECT an.id, an.attempt_id AS "attemptId", an.about, an.channel, an.kind, an.raw_input AS "rawInput",
              an.recorded_by AS "recordedBy", an.reason, an.effective, an.received_at AS "receivedAt"
         FROM answers an WHERE an.delivery_id = $1 ORDER BY an.received_at`,
      [deliveryId],
    );
  }

  /**
   * Escalation edges into this delivery (who was escalated to this person) and out of it, with
   * the target's acknowledgement of the notice (time, channel, attempt; seconds from the edge)
   * and how the edge was resolved.
   */
  async escalations(deliveryId: string) {
    return rows<{ direction: 'in' | 'out' } & Record<string, unknown>>(
      this.db,
      `SELECT e.id, CASE WHEN e.to_delivery_id = $1 THEN 'in' ELSE 'out' END AS direction,
              e.reason, e.detail, e.created_at AS "createdAt", e.task_id AS "taskId",
              e.acknowledged_at AS "acknowledgedAt", e.ack_channel AS "ackChannel",
              e.ack_attempt_id AS "ackAttemptId", ${secs('e.acknowledged_at - e.created_at')} AS "ackSeconds",
              e.resolved_at AS "resolvedAt", e.resolution,
              fp.id AS "fromPersonId", fp.name AS "fromName", fd.role AS "fromRole",
              tp.id AS "toPersonId", tp.name AS "toName", td.role AS "toRole"
         FROM escalations e
         LEFT JOIN deliveries fd ON fd.id = e.from_delivery_id LEFT JOIN people fp ON fp.id = fd.person_id
         LEFT JOIN deliveries td ON td.id = e.to_delivery_id LEFT JOIN people tp ON tp.id = td.person_id
        WHERE e.from_delivery_id = $1 OR e.to_delivery_id = $1
        ORDER BY e.created_at`,
      [deliveryId],
    );
  }

  /** Manual tasks about this person (subject) or assigned to them, in this warning. */
  async tasks(warningId: string, deliveryId: string, personId: string) {
    return rows(
      this.db,
      `SELECT t.id, t.type, t.grid_code AS "gridCode", t.status, t.reason, t.outcome, t.note,
              t.created_by AS "createdBy", t.created_at AS "createdAt", t.completed_at AS "completedAt",
              t.completed_by AS "completedBy", ap.id AS "assigneeId", ap.name AS "assigneeName",
              CASE WHEN t.subject_delivery_id = $2 THEN 'subject' ELSE 'assignee' END AS relation
         FROM manual_tasks t LEFT JOIN people ap ON ap.id = t.assignee_id
        WHERE t.warning_id = $1 AND (t.subject_delivery_id = $2 OR t.assignee_id = $3)
        ORDER BY t.created_at`,
      [warningId, deliveryId, personId],
    );
  }

  async totals(scope: ReportScope) {
    const w = scopeWhere(scope);
    const [t] = await rows<Record<string, number>>(
      this.db,
      `SELECT count(DISTINCT d.warning_id)::int AS warnings,
              count(*)::int AS people,
              count(*) FILTER (WHERE d.escalated_from IS NULL)::int AS targeted,
              count(*) FILTER (WHERE d.escalated_from IS NOT NULL)::int AS "escalatedTo",
              count(*) FILTER (WHERE d.escalated_from IS NULL AND d.state IN ${REACHED})::int AS reached,
              count(*) FILTER (WHERE d.escalated_from IS NULL AND d.state = 'confirmed')::int AS confirmed,
              count(*) FILTER (WHERE d.help_requested_at IS NOT NULL)::int AS "helpRequests",
              count(*) FILTER (WHERE d.not_woken_at IS NOT NULL AND d.state NOT IN ('confirmed', 'declined'))::int AS "notWoken",
              count(*) FILTER (WHERE d.state NOT IN ${REACHED})::int AS "neverReached",
              count(*) FILTER (WHERE ${BREACHED})::int AS "deadlineBreaches",
              count(*) FILTER (WHERE (${ANSWERED_IN_STEP_TIME}) IS FALSE)::int AS "stepDeadlineMissed",
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.confirmed_at - ${ENTERED_AT}))
                FILTER (WHERE d.state = 'confirmed') AS "medianSeconds",
              percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM d.confirmed_at - ${ENTERED_AT}))
                FILTER (WHERE d.state = 'confirmed') AS "p90Seconds",
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.confirmed_at - d.first_attempt_at))
                FILTER (WHERE d.state = 'confirmed') AS "medianFromFirstAttemptSeconds",
              percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM d.confirmed_at - d.first_attempt_at))
                FILTER (WHERE d.state = 'confirmed') AS "p90FromFirstAttemptSeconds"
         FROM deliveries d JOIN warnings w ON w.id = d.warning_id
         LEFT JOIN escalation_policies pol ON pol.id = d.policy_id ${w}`,
      w.params,
    );
    return t;
  }

  /** Per-group figures: the SQL, for the JSON report and the CSV cursor alike. */
  groupQuery(scope: ReportScope, groupBy: GroupBy) {
    const w = scopeWhere(scope);
    const sql = `
      SELECT '${groupBy}' AS "groupBy", g.key, coalesce(dv.name, gr.name) AS name, g.people, g.targeted, g.reached, g.confirmed,
             CASE WHEN g.targeted > 0 THEN round(g.reached::numeric / g.targeted, 4)::float8 END AS coverage,
             CASE WHEN g.targeted > 0 THEN round(g.confirmed::numeric / g.targeted, 4)::float8 END AS "confirmationRate",
             round(g.median::numeric, 1)::float8 AS "medianSeconds", round(g.p90::numeric, 1)::float8 AS "p90Seconds",
             g."deadlineBreaches", g."neverReached"
        FROM (
          SELECT ${GROUP_KEY[groupBy]} AS key,
                 count(*)::int AS people,
                 count(*) FILTER (WHERE d.escalated_from IS NULL)::int AS targeted,
                 count(*) FILTER (WHERE d.escalated_from IS NULL AND d.state IN ${REACHED})::int AS reached,
                 count(*) FILTER (WHERE d.escalated_from IS NULL AND d.state = 'confirmed')::int AS confirmed,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.confirmed_at - w.created_at))
                   FILTER (WHERE d.state = 'confirmed') AS median,
                 percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM d.confirmed_at - w.created_at))
                   FILTER (WHERE d.state = 'confirmed') AS p90,
                 count(*) FILTER (WHERE ${BREACHED})::int AS "deadlineBreaches",
                 count(*) FILTER (WHERE d.state NOT IN ${REACHED})::int AS "neverReached"
            FROM deliveries d JOIN warnings w ON w.id = d.warning_id
            LEFT JOIN escalation_policies pol ON pol.id = d.policy_id ${w}
           GROUP BY 1) g
        LEFT JOIN divisions dv ON dv.code = g.key
        LEFT JOIN grids gr ON gr.code = g.key
       ORDER BY g.key NULLS LAST`;
    return { sql, params: w.params };
  }

  async groups(scope: ReportScope, groupBy: GroupBy): Promise<GroupRow[]> {
    const { sql, params } = this.groupQuery(scope, groupBy);
    return rows<GroupRow>(this.db, sql, params);
  }

  /** People in the scope: deadline breaches or never reached (at most `limit`). */
  async people(scope: ReportScope, which: 'breached' | 'neverReached', limit: number) {
    const w = scopeWhere(scope);
    w.add(() => (which === 'breached' ? `(${BREACHED})` : `d.state NOT IN ${REACHED}`));
    return rows<Record<string, unknown> & { contact: string | null }>(
      this.db,
      `SELECT d.warning_id AS "warningId", p.id AS "personId", p.name, d.role, d.division_code AS "divisionCode",
              d.grid_code AS "gridCode", d.state, d.first_attempt_at AS "firstAttemptAt",
              least(d.delivered_at, d.heard_at, d.confirmed_at) AS "reachedAt",
              pol.reach_deadline_seconds AS "reachDeadlineSeconds",
              (SELECT count(*)::int FROM contact_attempts a WHERE a.delivery_id = d.id) AS attempts,
              (SELECT cp.value FROM contact_points cp WHERE cp.person_id = p.id
                ORDER BY (cp.kind IN ('mobile', 'landline', 'satellite')) DESC, cp.priority LIMIT 1) AS contact
         FROM deliveries d JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = d.warning_id
         LEFT JOIN escalation_policies pol ON pol.id = d.policy_id ${w}
        ORDER BY d.division_code, d.grid_code NULLS FIRST, p.name LIMIT ${Number(limit)}`,
      w.params,
    );
  }

  /** Contact points whose attempts failed as dead numbers, worst first. */
  async failedContacts(scope: ReportScope, limit: number) {
    const w = scopeWhere(scope);
    w.add(() => DEAD_ATTEMPT);
    return rows<Record<string, unknown> & { contact: string; people: string[] }>(
      this.db,
      `SELECT a.address AS contact, a.contact_kind AS kind, count(*)::int AS failures,
              count(DISTINCT a.warning_id)::int AS warnings,
              coalesce(array_agg(DISTINCT a.error_code) FILTER (WHERE a.error_code IS NOT NULL), '{}') AS "errorCodes",
              coalesce(array_agg(DISTINCT a.outcome) FILTER (WHERE a.outcome IS NOT NULL), '{}') AS outcomes,
              array_agg(DISTINCT p.name) AS people,
              max(coalesce(a.failed_at, a.queued_at)) AS "lastFailedAt"
         FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
         JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = a.warning_id ${w}
        GROUP BY a.address, a.contact_kind
        ORDER BY failures DESC, a.address LIMIT ${Number(limit)}`,
      w.params,
    );
  }

  /**
   * Runs `sql` through a server-side cursor and hands the stream of rows to `consume` (a CSV
   * pipeline or a workbook writer), so that a million rows never sit in memory. The connection
   * is released when `consume` is done.
   */
  async withCursor<R>(
    sql: string,
    params: unknown[],
    consume: (rows: Readable & AsyncIterable<R>) => Promise<void>,
  ): Promise<void> {
    const runner = this.db.createQueryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      const stream = client.query(new QueryStream(sql, params, { batchSize: 500 }));
      try {
        await consume(stream as unknown as Readable & AsyncIterable<R>);
      } finally {
        // A consumer that stopped early (client gone) must not leave the cursor open.
        if (!stream.destroyed) stream.destroy();
      }
    } finally {
      await runner.release();
    }
  }
}
