/**
 * The sandbox's record of everything that happened: API requests it accepted or refused,
 * webhooks it posted and what the gateway answered, what each simulated person did, robot
 * messages, broadcast receipts and e-mails. Tests assert on it; the demo prints it.
 */
export type SandboxChannel =
  'sms' | 'voice' | 'twilio' | 'wecom' | 'dingtalk' | 'feishu' | 'broadcast' | 'email';

export interface SandboxEvent {
  /** 1, 2, 3… in the order events happened. */
  seq: number;
  /** Wall-clock time (ISO 8601). */
  at: string;
  channel: SandboxChannel;
  /** e.g. `sms.status`, `call.gather`, `robot.message`; listed in src/sandbox/README.md. */
  type: string;
  /** The resource the event is about: a Twilio SID, a broadcast task id, an e-mail id… */
  ref?: string;
  /** Who or what it was addressed to: an E.164 number, a robot token, a terminal, an address. */
  to?: string;
  data: Record<string, unknown>;
}

export interface EventFilter {
  channel?: SandboxChannel;
  type?: string;
  ref?: string;
  to?: string;
  /** Only events with a sequence number greater than this. */
  since?: number;
}

export type EventPredicate = (event: SandboxEvent) => boolean;

export function toPredicate(filter?: EventFilter | EventPredicate): EventPredicate {
  if (!filter) return () => true;
  if (typeof filter === 'function') return filter;
  return (e) =>
    (filter.channel === undefined || e.channel === filter.channel) &&
    (filter.type === undefined || e.type === filter.type) &&
    (filter.ref === undefined || e.ref === filter.ref) &&
    (filter.to === undefined || e.to === filter.to) &&
    (filter.since === undefined || e.seq > filter.since);
}

interface Waiter {
  predicate: EventPredicate;
  resolve: (event: SandboxEvent) => void;
  reject: (error: Error) => void;
}

export class EventLog {
  private readonly entries: SandboxEvent[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(event: SandboxEvent) => void>();
  private seq = 0;

  constructor(private readonly maxEvents = 50_000) {}

  record(
    channel: SandboxChannel,
    type: string,
    fields: { ref?: string; to?: string; data?: Record<string, unknown> } = {},
  ): SandboxEvent {
    const event: SandboxEvent = {
      seq: ++this.seq,
      at: new Date().toISOString(),
      channel,
      type,
      ...(fields.ref !== undefined ? { ref: fields.ref } : {}),
      ...(fields.to !== undefined ? { to: fields.to } : {}),
      data: fields.data ?? {},
    };
    this.entries.push(event);
    if (this.entries.length > this.maxEvents)
      this.entries.splice(0, this.entries.length - this.maxEvents);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(event)) {
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not break the simulation.
      }
    }
    return event;
  }

  list(filter?: EventFilter | EventPredicate): SandboxEvent[] {
    const predicate = toPredicate(filter);
    return this.entries.filter(predicate);
  }

  subscribe(listener: (event: SandboxEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the first event (already logged or still to come) matching `filter`; rejects
   * after `timeoutMs` with the last events in the message, to make a failing test readable.
   */
  waitFor(filter: EventFilter | EventPredicate, timeoutMs = 5000): Promise<SandboxEvent> {
    const predicate = toPredicate(filter);
    const existing = this.entries.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise<SandboxEvent>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.entries
          .slice(-15)
          .map(
            (e) =>
              `  #${e.seq} ${e.channel} ${e.type} ${e.ref ?? ''} ${e.to ?? ''} ${JSON.stringify(e.data)}`,
          )
          .join('\n');
        reject(
          new Error(`no matching sandbox event within ${timeoutMs} ms; last events:\n${recent}`),
        );
      }, timeoutMs);
      timer.unref();
      this.waiters.add(waiter);
    });
  }

  /** Rejects the pending waiters and drops the listeners; used by stop(). */
  close(): void {
    for (const waiter of this.waiters) waiter.reject(new Error('sandbox carrier stopped'));
    this.waiters.clear();
    this.listeners.clear();
  }
}
