import {
  ATTEMPT_MOVES,
  ATTEMPT_STATES,
  type AttemptState,
  DELIVERY_MOVES,
  DELIVERY_STATES,
  type DeliveryState,
  EDGE_MOVES,
  edgeGuard,
  EDGE_STATES,
  nextEdgeState,
  nextTaskState,
  TASK_MOVES,
  TASK_STATES,
  nextAttemptState,
  nextDeliveryState,
  sqlList,
} from './chain-states';

/** How far along a chain a state is: moves other than `restart` never go down. */
const DELIVERY_RANK: Record<DeliveryState, number> = {
  pending: 0,
  sent: 1,
  unreachable: 1,
  delivered: 2,
  heard: 3,
  confirmed: 4,
  declined: 4,
  cancelled: 5,
};
const ATTEMPT_RANK: Record<AttemptState, number> = {
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  completed: 4,
  failed: 4,
  cancelled: 4,
};

function reachable<S extends string>(
  start: S,
  moves: Record<string, { from: readonly S[]; to: S }>,
) {
  const seen = new Set<S>([start]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of Object.values(moves))
      if (m.from.some((f) => seen.has(f)) && !seen.has(m.to)) {
        seen.add(m.to);
        grew = true;
      }
  }
  return seen;
}

describe('the chain state table', () => {
  it('reaches every delivery and attempt state from the first one', () => {
    expect([...reachable('pending', DELIVERY_MOVES)].sort()).toEqual([...DELIVERY_STATES].sort());
    expect([...reachable('queued', ATTEMPT_MOVES)].sort()).toEqual([...ATTEMPT_STATES].sort());
  });

  it('only moves forward, except a new version restarting a chain', () => {
    for (const [name, move] of Object.entries(DELIVERY_MOVES)) {
      if (name === 'restart') continue;
      for (const from of move.from)
        expect([name, from, DELIVERY_RANK[move.to] >= DELIVERY_RANK[from]]).toEqual([
          name,
          from,
          true,
        ]);
    }
    for (const [name, move] of Object.entries(ATTEMPT_MOVES))
      for (const from of move.from.filter(() => name !== 'release'))
        expect([name, from, ATTEMPT_RANK[move.to] >= ATTEMPT_RANK[from]]).toEqual([
          name,
          from,
          true,
        ]);
  });

  it('never fails a message the carrier delivered, and never resends one it accepted', () => {
    expect(nextAttemptState('delivered', 'fail')).toBeUndefined();
    expect(nextAttemptState('completed', 'fail')).toBeUndefined();
    for (const s of ['sent', 'delivered', 'completed', 'failed', 'cancelled'] as const)
      expect(nextAttemptState(s, 'claim')).toBeUndefined();
    // Ended attempts take no move at all.
    for (const s of ['completed', 'failed', 'cancelled'] as const)
      for (const move of Object.keys(ATTEMPT_MOVES) as (keyof typeof ATTEMPT_MOVES)[])
        expect(nextAttemptState(s, move)).toBeUndefined();
  });

  it('keeps an answer: receipts and failures never move an answered person', () => {
    for (const s of ['confirmed', 'declined'] as const) {
      for (const move of [
        'markSent',
        'markDelivered',
        'markHeard',
        'markUnreachable',
        'confirm',
        'decline',
      ] as const)
        expect([s, move, nextDeliveryState(s, move)]).toEqual([s, move, undefined]);
    }
    // On-site confirmation reaches someone no contact point could.
    expect(nextDeliveryState('unreachable', 'confirm')).toBe('confirmed');
    expect(nextDeliveryState('confirmed', 'restart')).toBe('pending');
  });

  it('ends a task once, and an edge stays resolved', () => {
    expect([...reachable('open', TASK_MOVES)].sort()).toEqual([...TASK_STATES].sort());
    expect([...reachable('open', EDGE_MOVES)].sort()).toEqual([...EDGE_STATES].sort());
    // A task done or closed takes no move: a second completion, or a completion after the
    // subject answered, changes nothing.
    for (const s of ['done', 'cancelled'] as const)
      for (const move of Object.keys(TASK_MOVES) as (keyof typeof TASK_MOVES)[])
        expect([s, move, nextTaskState(s, move)]).toEqual([s, move, undefined]);
    // Nothing reopens an edge; a late acknowledgement is still recorded on a resolved one.
    for (const move of Object.keys(EDGE_MOVES) as (keyof typeof EDGE_MOVES)[])
      expect(EDGE_MOVES[move].to).toBe('resolved');
    expect(nextEdgeState('resolved', 'acknowledge')).toBe('resolved');
    expect(nextEdgeState('resolved', 'resolveBySubject')).toBeUndefined();
  });

  it('writes guards as SQL lists of the constants', () => {
    expect(sqlList(DELIVERY_MOVES.markDelivered.from)).toBe(`('pending', 'sent')`);
  });

  it('edge guards in SQL come from the edge table (open is resolved_at IS NULL)', () => {
    expect(edgeGuard('resolveBySubject', 'e')).toBe('e.resolved_at IS NULL');
    expect(edgeGuard('resolveByTask')).toBe('resolved_at IS NULL');
    // An acknowledgement is recorded whether or not the edge was resolved by then.
    expect(edgeGuard('acknowledge')).toBe('TRUE');
  });
});
