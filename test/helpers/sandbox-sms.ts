import type { SandboxCarrier } from '../../src/sandbox/sandbox-carrier';
import type { SandboxEvent } from '../../src/sandbox/event-log';

/** Whether a sandbox event is of this attempt's (or notice's) send: its callback URL names it. */
export const namesSend = (e: SandboxEvent, id: string): boolean =>
  String((e.data as { statusCallback?: string }).statusCallback).includes(id);

/** The SMS the sandbox carrier accepted for this attempt or notice (to `to` only, when given). */
export const smsAcceptedFor = (carrier: SandboxCarrier, id: string, to?: string): SandboxEvent[] =>
  carrier.events({ type: 'sms.created', ...(to ? { to } : {}) }).filter((e) => namesSend(e, id));
