/**
 * The states of a person's 叫应 chain and the moves between them: one table, in code, that the
 * SQL guards are built from and the tests walk. A transition names the states it may start from;
 * a row whose state is not among them is left alone (the compare-and-set of every UPDATE), so a
 * callback delivered twice, late or out of order never moves anything backwards.
 */

/** A person's delivery of one warning (their chain). */
export const DELIVERY_STATES = [
  'pending',
  'sent',
  'delivered',
  'heard',
  'confirmed',
  'declined',
  'unreachable',
  'cancelled',
] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** One message to one contact point (an SMS, a call, an e-mail, a task SMS). */
export const ATTEMPT_STATES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'completed',
  'failed',
  'cancelled',
] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];

interface Move<S extends string> {
  from: readonly S[];
  to: S;
}

/**
 * Delivery transitions. `answered` people (confirmed, declined) are not moved by receipts; a
 * request for help after a confirmation is a flag on top of the first answer (help_requested_at),
 * not a move. Only a new version of the warning (`restart`) reopens a chain.
 */
export const DELIVERY_MOVES = {
  /** The provider accepted the first message. */
  markSent: { from: ['pending'], to: 'sent' },
  /** A carrier receipt (SMS delivered, call completed). */
  markDelivered: { from: ['pending', 'sent'], to: 'delivered' },
  /** A call was heard through to its end. */
  markHeard: { from: ['pending', 'sent', 'delivered'], to: 'heard' },
  /** The first effective answer: 1 / 收到 / a signed link / on site. */
  confirm: { from: ['pending', 'sent', 'delivered', 'heard', 'unreachable'], to: 'confirmed' },
  /** The first effective answer was a request for help. */
  decline: { from: ['pending', 'sent', 'delivered', 'heard', 'unreachable'], to: 'declined' },
  /** No contact point left that could still reach the person. */
  markUnreachable: { from: ['pending', 'sent'], to: 'unreachable' },
  /** The warning was cancelled before anything reached the person. */
  cancelUnsent: { from: ['pending'], to: 'cancelled' },
  /** An update dropped the person's area: their chain ends with a release. */
  drop: {
    from: ['pending', 'sent', 'delivered', 'heard', 'confirmed', 'declined', 'unreachable'],
    to: 'cancelled',
  },
  /** A new version whose level was raised, or a person brought back into the area. */
  restart: { from: ['confirmed', 'declined', 'cancelled'], to: 'pending' },
} as const satisfies Record<string, Move<DeliveryState>>;
export type DeliveryMove = keyof typeof DELIVERY_MOVES;

/** Attempt transitions. A message a provider accepted is never claimed for sending again. */
export const ATTEMPT_MOVES = {
  /** A worker takes the send (a retried job takes its own claim again). */
  claim: { from: ['queued', 'sending'], to: 'sending' },
  /** The provider accepted it (a receipt that overtook this write keeps its later state). */
  markSent: { from: ['sending'], to: 'sent' },
  /** SMS carrier receipt. */
  markDelivered: { from: ['sending', 'sent'], to: 'delivered' },
  /** A call ended (heard or not, the outcome says). */
  complete: { from: ['sending', 'sent', 'delivered'], to: 'completed' },
  /** The provider refused it, or a later receipt says it never arrived. Never after delivered. */
  fail: { from: ['queued', 'sending', 'sent'], to: 'failed' },
  /** Stopped before it went out (answered, cancelled, resolved, expired). */
  cancel: { from: ['queued', 'sending'], to: 'cancelled' },
  /**
   * A claim given back before anything reached the provider (its circuit opened): the only move
   * back, and only for an attempt never sent.
   */
  release: { from: ['sending'], to: 'queued' },
} as const satisfies Record<string, Move<AttemptState>>;
export type AttemptMove = keyof typeof ATTEMPT_MOVES;

/** A door-to-door (or gong-and-whistle) task about a person, given to a grid member. */
export const TASK_STATES = ['open', 'done', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/**
 * Task transitions. A task ends once: done by its assignee (an explicit completion, never a
 * "got it"), or closed because the person it was about answered by themselves. Its task SMS ends
 * with it: completed if it went out, cancelled if it was still waiting (`taskSmsEnds`).
 */
export const TASK_MOVES = {
  complete: { from: ['open'], to: 'done' },
  closeForSubject: { from: ['open'], to: 'cancelled' },
} as const satisfies Record<string, Move<TaskState>>;
export type TaskMove = keyof typeof TASK_MOVES;

/**
 * An escalation edge (who was brought in because of whom): open until what it reports is
 * resolved (the superior acknowledged the notice, the subject answered, the task was done). The
 * state is `resolved_at IS NULL` (open) or not; an acknowledgement that comes after the subject
 * answered is still recorded (its time and channel), the first resolution is kept.
 */
export const EDGE_STATES = ['open', 'resolved'] as const;
export type EdgeState = (typeof EDGE_STATES)[number];

export const EDGE_MOVES = {
  acknowledge: { from: ['open', 'resolved'], to: 'resolved' },
  resolveBySubject: { from: ['open'], to: 'resolved' },
  resolveByTask: { from: ['open'], to: 'resolved' },
} as const satisfies Record<string, Move<EdgeState>>;
export type EdgeMove = keyof typeof EDGE_MOVES;

/** The states a task transition may start from. */
export function taskFrom(move: TaskMove): TaskState[] {
  return [...TASK_MOVES[move].from];
}

/** The task state after `move`, or undefined when the move is not allowed from `state`. */
export function nextTaskState(state: TaskState, move: TaskMove): TaskState | undefined {
  const m: Move<TaskState> = TASK_MOVES[move];
  return m.from.includes(state) ? m.to : undefined;
}

/** The edge state after `move`, or undefined when the move is not allowed from `state`. */
export function nextEdgeState(state: EdgeState, move: EdgeMove): EdgeState | undefined {
  const m: Move<EdgeState> = EDGE_MOVES[move];
  return m.from.includes(state) ? m.to : undefined;
}

/**
 * The SQL guard of an edge move, from the table: an edge is open while `resolved_at IS NULL`.
 * `alias` names the escalations table in the statement (e.g. `e`).
 */
export function edgeGuard(move: EdgeMove, alias?: string): string {
  const from: readonly EdgeState[] = EDGE_MOVES[move].from;
  const column = alias ? `${alias}.resolved_at` : 'resolved_at';
  if (from.includes('open') && from.includes('resolved')) return 'TRUE';
  return from.includes('open') ? `${column} IS NULL` : `${column} IS NOT NULL`;
}

/** States a delivery has once its person answered (their own alert stops). */
export const ANSWERED: readonly DeliveryState[] = ['confirmed', 'declined'];
/** States in which no more of the person's own alert is sent. */
export const CHAIN_CLOSED: readonly DeliveryState[] = ['confirmed', 'declined', 'cancelled'];

/** The states a delivery transition may start from, for a `state = ANY($n)` guard. */
export function deliveryFrom(move: DeliveryMove): DeliveryState[] {
  return [...DELIVERY_MOVES[move].from];
}

/** The states an attempt transition may start from, for a `status = ANY($n)` guard. */
export function attemptFrom(move: AttemptMove): AttemptState[] {
  return [...ATTEMPT_MOVES[move].from];
}

/** `('a', 'b')`: a guard written into SQL text (the values are the constants above, never input). */
export function sqlList(states: readonly string[]): string {
  return `(${states.map((s) => `'${s}'`).join(', ')})`;
}

/** The delivery state after `move`, or undefined when the move is not allowed from `state`. */
export function nextDeliveryState(
  state: DeliveryState,
  move: DeliveryMove,
): DeliveryState | undefined {
  const m: Move<DeliveryState> = DELIVERY_MOVES[move];
  return m.from.includes(state) ? m.to : undefined;
}

/** The attempt state after `move`, or undefined when the move is not allowed from `state`. */
export function nextAttemptState(state: AttemptState, move: AttemptMove): AttemptState | undefined {
  const m: Move<AttemptState> = ATTEMPT_MOVES[move];
  return m.from.includes(state) ? m.to : undefined;
}
