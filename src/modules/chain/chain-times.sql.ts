/**
 * How a chain's times are measured, as SQL over `deliveries d` and `escalation_policies pol`:
 * everyone from the moment they entered the chain (the issue for recipients, the escalation or
 * the task for people brought in), and against their own deadlines.
 */

/** When the person entered the chain. */
export const ENTERED_AT = `d.entered_at`;

/** The reach deadline of the person's policy, from their entry. */
export const REACH_DEADLINE_AT = `CASE WHEN pol.reach_deadline_seconds IS NOT NULL
  THEN d.entered_at + make_interval(secs => pol.reach_deadline_seconds) END`;

/** The deadline of the step the person is at (or answered in): the step's start plus its wait. */
export const STEP_DEADLINE_AT = `CASE WHEN d.step > 0 AND d.step_started_at IS NOT NULL
  THEN d.step_started_at + make_interval(secs => (pol.steps->(d.step - 1)->>'waitSeconds')::int) END`;

/** Reached (carrier receipt, heard or answered) at the earliest. */
export const REACHED_AT = `least(d.delivered_at, d.heard_at, d.confirmed_at)`;

/** Reached (see REACHED_AT) by the reach deadline; null while not reached or without a deadline. */
export const REACHED_IN_TIME = `${REACHED_AT} <= ${REACH_DEADLINE_AT}`;

/** Answered (confirmed, or asked for help) by the deadline of the step they answered in. */
export const ANSWERED_IN_STEP_TIME = `d.confirmed_at <= ${STEP_DEADLINE_AT}`;

/**
 * The notices to the person (escalation edges into their delivery), as a join aliased `na`:
 * `first_edge_at` when the first edge to them was made, `acked_at` / `ack_channel` their first
 * acknowledgement of a notice. Grouped by warning so that the warning's filter reaches the index.
 */
export const NOTICE_ACK_JOIN = `LEFT JOIN (
    SELECT e.warning_id, e.to_delivery_id, min(e.created_at) AS first_edge_at,
           min(e.acknowledged_at) AS acked_at,
           (array_agg(e.ack_channel ORDER BY e.acknowledged_at) FILTER (WHERE e.acknowledged_at IS NOT NULL))[1] AS ack_channel
      FROM escalations e WHERE e.to_delivery_id IS NOT NULL
     GROUP BY e.warning_id, e.to_delivery_id) na ON na.warning_id = d.warning_id AND na.to_delivery_id = d.id`;

/** From the first notice to the person to their first acknowledgement of one (an interval). */
export const NOTICE_ACK_TIME = `na.acked_at - na.first_edge_at`;
