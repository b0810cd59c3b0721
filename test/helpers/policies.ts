import type { EscalationPolicy } from '../../src/modules/escalation/escalation-policy.types';

/**
 * The seeded red/orange policy for responsible persons, as a PUT body with the test's own steps
 * and outcome: tests shorten the waits so that a whole chain runs in seconds.
 */
export function responsiblePolicy(
  chain: Pick<EscalationPolicy, 'steps' | 'onExhausted' | 'groupRuleSeconds'>,
) {
  return {
    name: '红橙预警-责任人',
    kinds: [],
    levels: ['red', 'orange'],
    statuses: [],
    roles: [
      'village_responsible',
      'township_responsible',
      'grid_leader',
      'group_monitor',
      'duty_officer',
    ],
    rank: 20,
    reachDeadlineSeconds: 300,
    ...chain,
  };
}
