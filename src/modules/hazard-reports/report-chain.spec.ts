import { planFailover, planStep } from '../chain/contact-plan';
import type { RecipientContact } from '../../common/domain/targeting.types';
import {
  FAILOVER_OUTCOMES,
  REPORT_CHAIN_MOVES,
  REPORT_CHAIN_STATES,
  nextReportChainState,
  reportAckPolicy,
  reportChainFrom,
} from './report-chain';

const contact = (kind: RecipientContact['kind'], value: string, priority: number) => ({
  kind,
  value,
  priority,
  verifiedAt: null,
});

describe("a hazard report's 叫应 chain: states, moves and the steps planned", () => {
  it('every state is reachable from running and only running advances', () => {
    const seen = new Set(['running']);
    for (const move of Object.keys(REPORT_CHAIN_MOVES) as (keyof typeof REPORT_CHAIN_MOVES)[])
      for (const s of [...seen]) {
        const to = nextReportChainState(s as 'running', move);
        if (to) seen.add(to);
      }
    expect([...seen].sort()).toEqual([...REPORT_CHAIN_STATES].sort());
    expect(nextReportChainState('acknowledged', 'advance')).toBeUndefined();
    expect(nextReportChainState('exhausted', 'advance')).toBeUndefined();
  });

  it('an acknowledged chain takes no move; an exhausted one can still be acknowledged (late)', () => {
    for (const move of Object.keys(REPORT_CHAIN_MOVES) as (keyof typeof REPORT_CHAIN_MOVES)[])
      expect(nextReportChainState('acknowledged', move)).toBeUndefined();
    expect(nextReportChainState('exhausted', 'acknowledge')).toBe('acknowledged');
    expect(reportChainFrom('acknowledge')).toBe("('running', 'exhausted')");
  });

  it('each step texts and calls; the default is six steps of ten minutes: the hour', () => {
    const policy = reportAckPolicy(600, 6);
    expect(policy.steps).toHaveLength(6);
    expect(policy.steps.reduce((s, x) => s + x.waitSeconds, 0)).toBe(3600);
    const contacts = [
      contact('mobile', '+8613800000001', 1),
      contact('landline', '+862880000001', 2),
    ];
    for (let i = 0; i < 6; i++)
      expect(planStep(policy, i, contacts).map((p) => `${p.channel}:${p.contactKind}`)).toEqual([
        'sms:mobile',
        'voice:mobile',
      ]);
    // An unanswered call to the mobile fails over to the landline; then nothing is left.
    const next = planFailover({ channel: 'voice', address: '+8613800000001' }, contacts, [
      { channel: 'sms', address: '+8613800000001' },
      { channel: 'voice', address: '+8613800000001' },
    ]);
    expect(next).toMatchObject({ channel: 'voice', contactKind: 'landline' });
    expect(
      planFailover({ channel: 'voice', address: '+862880000001' }, contacts, [
        { channel: 'sms', address: '+8613800000001' },
        { channel: 'voice', address: '+8613800000001' },
        { channel: 'voice', address: '+862880000001' },
      ]),
    ).toBeUndefined();
  });

  it('fails over on a failed SMS and on a call nobody answered, not on a call answered', () => {
    for (const o of ['undelivered', 'failed', 'no-answer', 'busy'])
      expect(FAILOVER_OUTCOMES.has(o)).toBe(true);
    for (const o of ['delivered', 'completed']) expect(FAILOVER_OUTCOMES.has(o)).toBe(false);
  });
});
