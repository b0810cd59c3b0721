import { sqlList } from '../chain/chain-states';
import type { PolicyStep } from '../chain/escalation-policy.types';
import type { NoticeRow } from './hazard-reports.repository';

/**
 * The 叫应 chain of a hazard report: one chain per duty office level (county, city) that must
 * acknowledge a 特大型 / 大型 report within the hour. Each step texts and calls every duty officer
 * of the level (the chain's step planner, `planStep`, on their contact points), a failed or
 * unanswered SMS or call fails over to their next contact point (`planFailover`), and a level that
 * has not acknowledged when the step's wait runs out gets the next step. The escalation at the
 * 45-minute mark (reminder to the city office, the county's responsible persons told, the report
 * flagged) is the report's own move (`escalated_at` / `flagged_at`).
 *
 * Why not the warning chain's tables (deliveries, contact_attempts): those belong to a warning and
 * a person (a delivery's states, answers about an alert, the warning's policies and timers), while
 * a report is acknowledged once per level by any officer of that office. The step planner and the
 * policy step type are the chain core's; the states and moves below are the report's own, in the
 * same form as the chain's (a move names the states it may start from; the SQL guards are built
 * from this table, so a late or repeated job or callback moves nothing).
 */
export const REPORT_CHAIN_STATES = ['running', 'acknowledged', 'exhausted'] as const;
export type ReportChainState = (typeof REPORT_CHAIN_STATES)[number];

interface Move {
  from: readonly ReportChainState[];
  to: ReportChainState;
}

export const REPORT_CHAIN_MOVES = {
  /** The step's wait ran out without an acknowledgement: the next step starts (same state). */
  advance: { from: ['running'], to: 'running' },
  /** The level acknowledged (token, keypress, SMS reply, link): its chain stops. */
  acknowledge: { from: ['running', 'exhausted'], to: 'acknowledged' },
  /** The last step's wait ran out (or the city deadline passed) without an acknowledgement. */
  exhaust: { from: ['running'], to: 'exhausted' },
} as const satisfies Record<string, Move>;
export type ReportChainMove = keyof typeof REPORT_CHAIN_MOVES;

/** The SQL list of the states a move starts from, e.g. `('running', 'exhausted')`. */
export function reportChainFrom(move: ReportChainMove): string {
  return sqlList(REPORT_CHAIN_MOVES[move].from);
}

/** The state after `move`, or undefined when the move is not allowed from `state`. */
export function nextReportChainState(
  state: ReportChainState,
  move: ReportChainMove,
): ReportChainState | undefined {
  const m: Move = REPORT_CHAIN_MOVES[move];
  return m.from.includes(state) ? m.to : undefined;
}

/** The levels a report's chain runs for: only a level that must acknowledge. */
export type ChainLevel = 'county' | 'city';

/** Every step of the report's chain: SMS and a call at once, then the wait for acknowledgement. */
export function reportAckPolicy(stepSeconds: number, steps: number): { steps: PolicyStep[] } {
  return {
    steps: Array.from({ length: steps }, () => ({
      channels: ['sms', 'voice'] as PolicyStep['channels'],
      waitSeconds: stepSeconds,
    })),
  };
}

/** A report that need not reach the city: the county is texted once (failover still applies). */
export const COUNTY_ONLY_POLICY: { steps: PolicyStep[] } = {
  steps: [{ channels: ['sms'], waitSeconds: 0 }],
};

/** The reminder at the mark: the city office texted and called; the county's responsible persons texted. */
export const ESCALATION_POLICY: Record<'city' | 'county_responsible', { steps: PolicyStep[] }> = {
  city: { steps: [{ channels: ['sms', 'voice'], waitSeconds: 0 }] },
  county_responsible: { steps: [{ channels: ['sms'], waitSeconds: 0 }] },
};

/**
 * What a notice's final status says: a failed SMS (undelivered, failed) or a call nobody answered
 * (no-answer, busy, failed, canceled) fails over to the next contact point. A call answered without
 * the keypress waits for the next step.
 */
export const FAILOVER_OUTCOMES = new Set([
  'undelivered',
  'failed',
  'no-answer',
  'busy',
  'canceled',
]);

/** Which notices fail over: those to duty offices and the county's responsible persons. */
export function failsOver(n: {
  purpose: NoticeRow['purpose'];
  level: NoticeRow['level'];
}): boolean {
  return n.purpose !== 'direct_notice' && n.level !== 'threatened';
}
