import {
  ANSWERED_IN_STEP_TIME,
  ENTERED_AT,
  NOTICE_ACK_JOIN,
  NOTICE_ACK_TIME,
  REACH_DEADLINE_AT,
  REACHED_IN_TIME,
  STEP_DEADLINE_AT,
} from '../chain/chain-times.sql';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** Public coverage target (domain.md): 90% of the threatened public reached. */
export const PUBLIC_COVERAGE_TARGET = 0.9;

const REACHED = `('delivered', 'heard', 'confirmed', 'declined')`;

/** Per-person response times of a warning's chains, in seconds. */
const PERSON_TIMES = `
  SELECT d.id AS "deliveryId", p.id AS "personId", p.name, d.role, d.division_code AS "divisionCode", d.grid_code AS "gridCode",
         d.state, d.escalated_from IS NOT NULL AS escalated, d.escalation_reason AS "escalationReason",
         d.answer_channel AS "answerChannel", d.answered_attempt_id AS "answeredAttemptId",
         (SELECT seq + 1 FROM contact_attempts WHERE id = d.answered_attempt_id) AS "answeredOnAttempt",
         d.not_woken_at IS NOT NULL AND d.state NOT IN ('confirmed', 'declined') AS "notWoken",
         d.not_woken_at AS "notWokenAt", d.help_requested_at AS "helpRequestedAt",
         ${ENTERED_AT} AS "enteredAt",
         extract(epoch FROM d.confirmed_at - ${ENTERED_AT}) AS "entryToAnswer",
         ${STEP_DEADLINE_AT} AS "stepDeadlineAt",
         ${ANSWERED_IN_STEP_TIME} AS "answeredInStepTime",
         extract(epoch FROM d.first_attempt_at - w.created_at) AS "issueToFirstAttempt",
         extract(epoch FROM d.delivered_at - w.created_at) AS "issueToDelivery",
         extract(epoch FROM d.confirmed_at - w.created_at) AS "issueToAnswer",
         extract(epoch FROM d.confirmed_at - d.first_attempt_at) AS "firstAttemptToAnswer",
         pol.reach_deadline_seconds AS "reachDeadlineSeconds",
         ${REACH_DEADLINE_AT} AS "reachDeadlineAt",
         ${REACHED_IN_TIME} AS "reachedInTime",
         na.first_edge_at AS "firstNoticeAt", na.acked_at AS "noticeAcknowledgedAt",
         na.ack_channel AS "noticeAckChannel", extract(epoch FROM ${NOTICE_ACK_TIME}) AS "noticeAckSeconds"
    FROM deliveries d JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = d.warning_id
    LEFT JOIN escalation_policies pol ON pol.id = d.policy_id
    ${NOTICE_ACK_JOIN}
   WHERE d.warning_id = $1`;

/**
 * What GET /v1/warnings/:id shows of the 叫应: counts by state, coverage, confirmation rate,
 * median and p90 response times, deadline breaches, the not-woken list and help requests.
 */
@Injectable()
export class ChainStatsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async summary(warningId: string) {
    const [totals] = await this.db.query(
      `SELECT count(*) FILTER (WHERE escalated_from IS NULL)::int AS targeted,
              count(*) FILTER (WHERE escalated_from IS NOT NULL)::int AS escalated,
              count(*) FILTER (WHERE escalated_from IS NULL AND state IN ${REACHED})::int AS reached,
              count(*) FILTER (WHERE escalated_from IS NULL AND state = 'confirmed')::int AS confirmed,
              count(*) FILTER (WHERE escalated_from IS NULL AND role = 'resident')::int AS public,
              count(*) FILTER (WHERE escalated_from IS NULL AND role = 'resident' AND state IN ${REACHED})::int AS "publicReached",
              count(*) FILTER (WHERE escalated_from IS NULL AND role <> 'resident')::int AS responsible,
              count(*) FILTER (WHERE escalated_from IS NULL AND role <> 'resident' AND state = 'confirmed')::int AS "responsibleConfirmed"
         FROM deliveries WHERE warning_id = $1`,
      [warningId],
    );
    const byState = Object.fromEntries(
      (
        await this.db.query<{ state: string; n: number }[]>(
          `SELECT state, count(*)::int AS n FROM deliveries WHERE warning_id = $1 GROUP BY state`,
          [warningId],
        )
      ).map((r) => [r.state, r.n]),
    );
    const [times] = await this.db.query(
      `WITH t AS (${PERSON_TIMES})
       SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "entryToAnswer") AS median,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY "entryToAnswer") AS p90,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY "issueToAnswer") AS "medianFromIssue",
              percentile_cont(0.5) WITHIN GROUP (ORDER BY "firstAttemptToAnswer") AS "medianFromFirstAttempt",
              percentile_cont(0.9) WITHIN GROUP (ORDER BY "firstAttemptToAnswer") AS "p90FromFirstAttempt",
              count(*) FILTER (WHERE role <> 'resident' AND "reachedInTime")::int AS "deadlineMet",
              count(*) FILTER (WHERE role <> 'resident' AND "reachedInTime" IS NOT TRUE)::int AS "deadlineMissed",
              count(*) FILTER (WHERE "answeredInStepTime")::int AS "stepDeadlineMet",
              count(*) FILTER (WHERE state IN ('confirmed', 'declined') AND "answeredInStepTime" IS NOT TRUE
                                 AND "stepDeadlineAt" IS NOT NULL)::int AS "stepDeadlineMissed"
         FROM t WHERE state = 'confirmed' OR role <> 'resident'`,
      [warningId],
    );
    const notWoken = await this.db.query(
      `WITH t AS (${PERSON_TIMES}) SELECT "personId", name, role, "divisionCode", "gridCode", state FROM t WHERE "notWoken" ORDER BY name`,
      [warningId],
    );
    // Help requests are a flag on top of the first answer: a person who confirmed and then asked
    // for help stays confirmed (and in the response times) and is listed here too.
    const helpRequests = await this.db.query(
      `SELECT p.id AS "personId", p.name, d.role, d.grid_code AS "gridCode", d.help_requested_at AS at, d.state
         FROM deliveries d JOIN people p ON p.id = d.person_id
        WHERE d.warning_id = $1 AND d.help_requested_at IS NOT NULL ORDER BY d.help_requested_at`,
      [warningId],
    );
    // The group rule of each grid: the rule applied, what it found at its due time and how many
    // superiors it alerted (none when it was met).
    const groupRules = await this.db.query(
      `SELECT o.grid_code AS "gridCode", g.name AS "gridName", o.version, o.policy_id AS "policyId", o.rule,
              o.required, o.total, o.confirmed, o.met, o.evaluated_at AS "evaluatedAt",
              (SELECT count(*)::int FROM escalations e JOIN deliveries f ON f.id = e.from_delivery_id
                WHERE e.warning_id = o.warning_id AND e.reason = 'group_silent' AND f.grid_code = o.grid_code) AS alerted
         FROM group_rule_outcomes o LEFT JOIN grids g ON g.code = o.grid_code
        WHERE o.warning_id = $1 ORDER BY o.version, o.grid_code`,
      [warningId],
    );
    const ratio = (a: number, b: number) => (b ? a / b : null);
    const publicCoverage = ratio(totals.publicReached, totals.public);
    return {
      byState,
      targeted: totals.targeted,
      escalatedTo: totals.escalated,
      coverage: ratio(totals.reached, totals.targeted),
      publicCoverage,
      publicCoverageTarget: PUBLIC_COVERAGE_TARGET,
      publicCoverageMet: publicCoverage === null ? null : publicCoverage >= PUBLIC_COVERAGE_TARGET,
      confirmationRate: ratio(totals.confirmed, totals.targeted),
      responsibleConfirmationRate: ratio(totals.responsibleConfirmed, totals.responsible),
      responseSeconds: {
        // From each person's entry into the chain (the issue, or the escalation for targets).
        median: num(times.median),
        medianFromIssue: num(times.medianFromIssue),
        p90: num(times.p90),
        medianFromFirstAttempt: num(times.medianFromFirstAttempt),
        p90FromFirstAttempt: num(times.p90FromFirstAttempt),
      },
      reachDeadline: { met: times.deadlineMet, missed: times.deadlineMissed },
      stepDeadline: { met: times.stepDeadlineMet, missed: times.stepDeadlineMissed },
      helpRequests,
      notWoken,
      groupRules,
    };
  }

  /** Every person in the chain, escalation targets and task assignees too, with their times. */
  async people(warningId: string, limit: number, offset: number) {
    return (
      await this.db.query(`${PERSON_TIMES} ORDER BY d.created_at, p.name LIMIT $2 OFFSET $3`, [
        warningId,
        limit,
        offset,
      ])
    ).map((r: Record<string, unknown>) => ({
      ...r,
      issueToFirstAttempt: num(r.issueToFirstAttempt),
      issueToDelivery: num(r.issueToDelivery),
      issueToAnswer: num(r.issueToAnswer),
      entryToAnswer: num(r.entryToAnswer),
      firstAttemptToAnswer: num(r.firstAttemptToAnswer),
      noticeAckSeconds: num(r.noticeAckSeconds),
    }));
  }
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10;
}
