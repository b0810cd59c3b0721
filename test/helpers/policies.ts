import type { TestApp } from './app';
import type { EscalationPolicy } from '../../src/modules/chain/escalation-policy.types';

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

/** Replaces the seeded policy of the same name with `policy` through the API (as an admin). */
export async function replacePolicy(t: TestApp, policy: { name: string }): Promise<void> {
  const admin = { Authorization: `Bearer ${t.tokens.admin}` };
  const list = await t.http().get('/v1/escalation-policies').set(admin);
  const current = list.body.find((p: { name: string }) => p.name === policy.name);
  const put = await t.http().put(`/v1/escalation-policies/${current.id}`).set(admin).send(policy);
  if (put.status !== 200) throw new Error(`policy ${policy.name}: ${put.status} ${put.text}`);
}
