import type { ChannelKind } from '../../channels/channel.types';
import type { ContactKind, PersonRole } from '../directory/directory.types';
import type { RecipientContact } from '../directory/targeting/targeting.types';
import type { WarningKind, WarningLevel } from '../warnings/warning.types';

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

export function firstContactFor(contacts: RecipientContact[], channel: PersonChannel): RecipientContact | undefined {
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
 * The first contacts of a warning for one person (domain.md, 叫应): orange and above, and every
 * imminent warning, use every channel (SMS, voice, email); yellow and blue use messaging only.
 * Residents get SMS, and a voice call too for red/orange imminent warnings.
 * Group robots and broadcast are planned per group, not per person.
 */
export function planFirstContacts(
  kind: WarningKind,
  level: WarningLevel,
  role: PersonRole,
  contacts: RecipientContact[],
): PlannedAttempt[] {
  const urgent = kind === 'imminent' || level === 'red' || level === 'orange';
  const channels: PersonChannel[] =
    role === 'resident'
      ? kind === 'imminent' && (level === 'red' || level === 'orange')
        ? ['sms', 'voice']
        : ['sms']
      : urgent
        ? ['sms', 'voice', 'email']
        : ['sms', 'email'];
  const planned: PlannedAttempt[] = [];
  for (const channel of channels) {
    const c = firstContact(contacts, channel);
    if (c) planned.push({ channel, contactKind: c.kind, address: c.value });
  }
  // No SMS-capable number but a landline: the message still gets there by voice.
  if (!planned.some((p) => p.channel === 'sms' || p.channel === 'voice')) {
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
