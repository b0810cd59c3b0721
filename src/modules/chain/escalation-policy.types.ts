import type { PersonChannel } from './contact-plan';
import { RESPONSIBLE_ROLES } from '../../common/domain/directory.types';

/** One step of a chain: channels used at once, then how long to wait for an answer. */
export interface PolicyStep {
  channels: PersonChannel[];
  waitSeconds: number;
  /** An unanswered (no-answer / busy) call is placed again, `times` times spread over `withinSeconds`. */
  voiceRetries?: { times: number; withinSeconds: number };
}

/** What happens when a person has not confirmed after the last step. */
export interface OnExhausted {
  /** Put them on the duty officer's 未叫醒 (not woken) list. */
  notWoken: boolean;
  /** Contact their supervisor, naming who did not answer and where. */
  supervisor: boolean;
  /** Send a door-to-door task to a member of their grid. */
  doorToDoor: boolean;
}

/**
 * When the group rule counts a grid as answered: `one` responsible person confirmed (the default),
 * `all` of them, or `at_least` `count` of them (all of them when the grid has fewer).
 */
export type GroupConfirm = { rule: 'one' } | { rule: 'all' } | { rule: 'at_least'; count: number };

export const GROUP_CONFIRM_RULES = ['one', 'all', 'at_least'] as const;

/** The default: one confirmation answers for the grid (as before confirmation rules existed). */
export const GROUP_CONFIRM_ONE: GroupConfirm = { rule: 'one' };

/** A rule as sent or stored (no count but with at_least), absent meaning the default. */
export function toGroupConfirm(x?: { rule: string; count?: number } | null): GroupConfirm {
  if (x?.rule === 'all') return { rule: 'all' };
  if (x?.rule === 'at_least' && x.count) return { rule: 'at_least', count: x.count };
  return GROUP_CONFIRM_ONE;
}

/** What a group rule found at its due time. */
export interface GroupRuleOutcome {
  /** Confirmations the rule asks for, of this grid's `total` responsible persons. */
  required: number;
  total: number;
  confirmed: number;
  met: boolean;
}

/**
 * The group rule of a grid at its due time: `confirmed` of its `total` responsible persons
 * confirmed receipt (a person who confirmed and then asked for help counts: the first answer stays
 * the first answer). `at_least` asks for no more people than the grid has.
 */
export function evaluateGroupRule(
  confirm: GroupConfirm,
  total: number,
  confirmed: number,
): GroupRuleOutcome {
  const wanted = confirm.rule === 'all' ? total : confirm.rule === 'at_least' ? confirm.count : 1;
  const required = Math.min(wanted, total);
  return { required, total, confirmed, met: confirmed >= required };
}

export interface EscalationPolicy {
  id: string;
  name: string;
  /** Empty: any. */
  kinds: string[];
  levels: string[];
  statuses: string[];
  roles: string[];
  /** Lower wins when several policies match. */
  rank: number;
  /**
   * Only for people in the warning's danger zone: those threatened by one of its hazard points or
   * risk zones (everyone targeted, when the warning names no hazard point or risk zone).
   */
  dangerZoneOnly: boolean;
  steps: PolicyStep[];
  onExhausted: OnExhausted;
  /** Group rule: when no responsible person of a grid has confirmed after this, the next level is alerted. */
  groupRuleSeconds: number | null;
  /** What counts as answered for the group rule (default `{ rule: 'one' }`). */
  groupConfirm: GroupConfirm;
  /** Responsible persons must be reached within this (national target: 5 minutes). */
  reachDeadlineSeconds: number;
}

/**
 * Imminent and red/orange warnings to responsible persons: SMS, voice and e-mail at once, the call
 * retried 3 times within 5 minutes, then the supervisor and a door-to-door task.
 */
const URGENT_RESPONSIBLE_CHAIN: Pick<
  EscalationPolicy,
  'steps' | 'onExhausted' | 'groupRuleSeconds' | 'groupConfirm' | 'reachDeadlineSeconds'
> = {
  steps: [
    {
      channels: ['sms', 'voice', 'email'],
      waitSeconds: 300,
      voiceRetries: { times: 3, withinSeconds: 300 },
    },
  ],
  onExhausted: { notWoken: true, supervisor: true, doorToDoor: true },
  groupRuleSeconds: 600,
  groupConfirm: GROUP_CONFIRM_ONE,
  reachDeadlineSeconds: 300,
};

/** Defaults from domain.md (叫应 in practice); editable through the API. */
export const DEFAULT_POLICIES: Omit<EscalationPolicy, 'id'>[] = [
  {
    name: '临灾预警-责任人',
    kinds: ['imminent'],
    levels: [],
    statuses: [],
    roles: RESPONSIBLE_ROLES,
    rank: 10,
    dangerZoneOnly: false,
    ...URGENT_RESPONSIBLE_CHAIN,
  },
  {
    name: '红橙预警-责任人',
    kinds: [],
    levels: ['red', 'orange'],
    statuses: [],
    roles: RESPONSIBLE_ROLES,
    rank: 20,
    dangerZoneOnly: false,
    ...URGENT_RESPONSIBLE_CHAIN,
  },
  {
    name: '黄蓝预警-责任人',
    kinds: [],
    levels: ['yellow', 'blue'],
    statuses: [],
    roles: RESPONSIBLE_ROLES,
    rank: 30,
    dangerZoneOnly: false,
    // Yellow and blue may use messaging only.
    steps: [
      { channels: ['sms', 'email'], waitSeconds: 900 },
      { channels: ['sms'], waitSeconds: 900 },
    ],
    onExhausted: { notWoken: true, supervisor: true, doorToDoor: false },
    groupRuleSeconds: 1800,
    groupConfirm: GROUP_CONFIRM_ONE,
    reachDeadlineSeconds: 300,
  },
  {
    name: '临灾预警-居民',
    kinds: ['imminent'],
    levels: [],
    statuses: [],
    roles: ['resident'],
    rank: 40,
    // The danger zone only (issue 4): residents elsewhere in the area get the SMS and loudspeakers.
    dangerZoneOnly: true,
    steps: [
      {
        channels: ['sms', 'voice'],
        waitSeconds: 600,
        voiceRetries: { times: 3, withinSeconds: 300 },
      },
    ],
    onExhausted: { notWoken: false, supervisor: false, doorToDoor: true },
    groupRuleSeconds: null,
    groupConfirm: GROUP_CONFIRM_ONE,
    reachDeadlineSeconds: 600,
  },
  {
    name: '居民',
    kinds: [],
    levels: [],
    statuses: [],
    roles: ['resident'],
    rank: 50,
    dangerZoneOnly: false,
    steps: [{ channels: ['sms'], waitSeconds: 3600 }],
    onExhausted: { notWoken: false, supervisor: false, doorToDoor: false },
    groupRuleSeconds: null,
    groupConfirm: GROUP_CONFIRM_ONE,
    reachDeadlineSeconds: 1800,
  },
  {
    name: '兜底',
    kinds: [],
    levels: [],
    statuses: [],
    roles: [],
    rank: 1000,
    dangerZoneOnly: false,
    steps: [{ channels: ['sms', 'email'], waitSeconds: 900 }],
    onExhausted: { notWoken: true, supervisor: false, doorToDoor: false },
    groupRuleSeconds: null,
    groupConfirm: GROUP_CONFIRM_ONE,
    reachDeadlineSeconds: 300,
  },
];
