import type { ChannelKind } from '../../channels/channel.types';
import type { ContactKind } from '../../common/domain/directory.types';
import type { RecipientContact } from '../../common/domain/targeting.types';
import type { EscalationPolicy } from './escalation-policy.types';

/** A person-addressed channel: one attempt reaches one person at one address. */
export type PersonChannel = Extract<ChannelKind, 'sms' | 'voice' | 'email'>;

export interface PlannedAttempt {
  channel: PersonChannel;
  contactKind: ContactKind;
  address: string;
}

/** Which contact kinds each channel can use, in the order they are preferred. */
const ADDRESSABLE: Record<PersonChannel, ContactKind[]> = {
  sms: ['mobile', 'satellite'],
  voice: ['mobile', 'landline', 'satellite'],
  email: ['email'],
};

export function firstContactFor(
  contacts: RecipientContact[],
  channel: PersonChannel,
): RecipientContact | undefined {
  return firstContact(contacts, channel);
}

function firstContact(
  contacts: RecipientContact[],
  channel: PersonChannel,
  exclude: Set<string> = new Set(),
) {
  // Contacts come ordered by the person's own priority; the channel's kinds filter them.
  return contacts.find(
    (c) => ADDRESSABLE[channel].includes(c.kind) && !exclude.has(`${channel}:${c.value}`),
  );
}

/**
 * The attempts of step `index` of a policy for a person: one per channel of the step, to the
 * person's first contact point that channel can use. Someone with no number that takes SMS but a
 * landline still gets the message, by voice. Empty when the step does not exist or nothing fits.
 */
export function planStep(
  policy: Pick<EscalationPolicy, 'steps'>,
  index: number,
  contacts: RecipientContact[],
): PlannedAttempt[] {
  const step = policy.steps[index];
  if (!step) return [];
  const planned: PlannedAttempt[] = [];
  for (const channel of step.channels) {
    const c = firstContact(contacts, channel);
    if (c) planned.push({ channel, contactKind: c.kind, address: c.value });
  }
  if (!planned.some((p) => p.channel !== 'email')) {
    const c = firstContact(contacts, 'voice');
    if (c) planned.push({ channel: 'voice', contactKind: c.kind, address: c.value });
  }
  return planned;
}

/** What a release (解除) or an update notice uses: one short message, SMS first. */
export function planNotice(contacts: RecipientContact[]): PlannedAttempt[] {
  for (const channel of ['sms', 'voice', 'email'] as const) {
    const c = firstContact(contacts, channel);
    if (c) return [{ channel, contactKind: c.kind, address: c.value }];
  }
  return [];
}

/**
 * After an attempt failed for good (dead number, provider down): the next contact point of the
 * person that has not been tried on a channel that can carry the message.
 */
export function planFailover(
  failed: { channel: PersonChannel; address: string },
  contacts: RecipientContact[],
  tried: { channel: string; address: string }[],
): PlannedAttempt | undefined {
  const exclude = new Set(tried.map((t) => `${t.channel}:${t.address}`));
  const order: PersonChannel[] =
    failed.channel === 'email'
      ? ['email', 'sms']
      : failed.channel === 'sms'
        ? ['sms', 'voice']
        : ['voice', 'sms'];
  for (const channel of order) {
    const c = contacts.find(
      (x) =>
        ADDRESSABLE[channel].includes(x.kind) &&
        !exclude.has(`${channel}:${x.value}`) &&
        x.value !== failed.address,
    );
    if (c) return { channel, contactKind: c.kind, address: c.value };
  }
  return undefined;
}

/**
 * What may stand in for a planned SMS or call that a carrier limit blocks, in the order they are
 * preferred: the same channel on the person's next contact point that can carry it, then the
 * other channel (a call for an SMS, an SMS for a call) on any of their numbers, the blocked one
 * included (a carrier counts calls and SMS apart). `taken` holds `channel:address` pairs already
 * planned or blocked; they are never proposed.
 */
export function alternativesFor(
  blocked: PlannedAttempt,
  contacts: RecipientContact[],
  taken: Set<string>,
): PlannedAttempt[] {
  if (blocked.channel === 'email') return [];
  const other: PersonChannel = blocked.channel === 'voice' ? 'sms' : 'voice';
  const out: PlannedAttempt[] = [];
  for (const [channel, sameNumber] of [
    [blocked.channel, false],
    [other, true],
  ] as const) {
    for (const c of contacts) {
      if (!ADDRESSABLE[channel].includes(c.kind) || taken.has(`${channel}:${c.value}`)) continue;
      if (!sameNumber && c.value === blocked.address) continue;
      out.push({ channel, contactKind: c.kind, address: c.value });
    }
  }
  return out;
}
