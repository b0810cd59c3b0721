import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { positive } from '../../common/config-number';
import { jobPriority } from '../../common/queue/queue-names';
import type { ChannelKind } from '../../channels/channel.types';
import type { PersonRole } from '../../common/domain/directory.types';
import { TargetingService } from '../directory/targeting/targeting.service';
import type { Recipient } from '../../common/domain/targeting.types';
import { type VersionRow, WarningsRepository } from '../warnings/warnings.repository';
import { planNotice, planStep } from '../chain/contact-plan';
import { EscalationService } from './escalation.service';
import { PoliciesRepository } from '../escalation/policies.repository';
import type { MessageType } from '../../common/domain/warning.types';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { DispatchRepository } from './dispatch.repository';
import { type AttemptToInsert, EntryMoves } from '../chain/entry-moves.repository';
import { SendMoves } from '../chain/send-moves.repository';
import { GroupSendPlanner } from './group-send.planner';
import { fanoutBacklogWaits } from '../../common/observability/metrics';

/** People written per batch (FANOUT_BATCH_SIZE). */
const BATCH = 1000;
/** Batches written at once (FANOUT_BATCHES_IN_FLIGHT). */
const IN_FLIGHT = 2;
/** Sends at a fan-out's priority or above that stop it writing more (FANOUT_MAX_BACKLOG). */
const MAX_BACKLOG = 100_000;
/** Longest a batch waits for room in the send queues (FANOUT_BACKLOG_WAIT_MS). */
const BACKLOG_WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Messages per second each channel sends, for the first-contact ETA. */
/**
 * Seconds until the last of `ahead` sends per channel goes out: at the configured rate, or at the
 * rate measured now when sends are going out slower than that (taking the measured rate alone
 * would promise too much of a burst that has barely started).
 */
export function firstContactSeconds(
  ahead: Partial<Record<keyof ChannelRates, number>>,
  configured: ChannelRates,
  measured: Partial<Record<keyof ChannelRates, number>> = {},
): number {
  let seconds = 0;
  for (const channel of Object.keys(ahead) as (keyof ChannelRates)[]) {
    const n = ahead[channel] ?? 0;
    if (!n) continue;
    const now = measured[channel];
    const rate = now && now > 0 ? Math.min(configured[channel], now) : configured[channel];
    seconds = Math.max(seconds, n / Math.max(rate, 0.001));
  }
  return seconds;
}

export interface ChannelRates {
  sms: number;
  voice: number;
  email: number;
}

/**
 * From an issued version to queued sends: resolve the people, write one delivery per person and
 * their first contact attempts in bulk (a batch at a time, never one giant transaction), then
 * enqueue jobs that carry only ids. Safe to run twice for the same version: every insert is
 * keyed, and job ids are the row ids.
 */
@Injectable()
export class FanoutService {
  private readonly logger = new Logger(FanoutService.name);

  constructor(
    private readonly warnings: WarningsRepository,
    private readonly repo: DispatchRepository,
    private readonly entries: EntryMoves,
    private readonly sendMoves: SendMoves,
    private readonly targeting: TargetingService,
    private readonly queue: DispatchQueue,
    private readonly groups: GroupSendPlanner,
    private readonly config: ConfigService,
    private readonly escalation: EscalationService,
    private readonly policies: PoliciesRepository,
  ) {}

  /** red 1 … blue 4: a lower rank than the previous version's is a raised level. */
  private async levelRaised(v: VersionRow): Promise<boolean> {
    const rank = { red: 1, orange: 2, yellow: 3, blue: 4 } as const;
    const previous = await this.warnings.findVersion(v.warningId, v.version - 1);
    return !!previous && rank[v.level] < rank[previous.level];
  }

  async run(warningId: string, version: number): Promise<void> {
    const warning = await this.warnings.findWarning(warningId);
    const v = await this.warnings.findVersion(warningId, version);
    if (!warning || !v) return;
    if (v.msgType === 'cancel') return this.fanoutCancel(v);
    // Cancelled or superseded before this fan-out ran: the newer version's fan-out takes over.
    if (warning.state !== 'active' || warning.currentVersion !== version) return;

    const priority = jobPriority(v.content.kind, v.level);
    const query = {
      areas: v.areas,
      hazardPoints: v.hazardPoints,
      riskZones: v.riskZones,
      roles: v.audience as PersonRole[],
    };
    const levelRaised = version > 1 && (await this.levelRaised(v));
    let total = 0;
    const batchSize = Number(this.config.get('FANOUT_BATCH_SIZE') ?? BATCH);
    // Batches written at once: the next batch's rows go in while the one before is still being
    // written (each batch its own transactions, every insert keyed: a run done twice writes
    // nothing twice, whichever batches it had finished).
    const depth = positive(this.config.get('FANOUT_BATCHES_IN_FLIGHT'), IN_FLIGHT);
    const writing: Promise<void>[] = [];
    try {
      for await (const batch of this.targeting.stream(query, { batchSize })) {
        // Cancelled or superseded while it waited for room: the newer version takes over.
        if (total > 0 && !(await this.roomFor(v, priority))) return;
        // Answers first: while an API process has answers queueing, the batch waits for them.
        await this.queue.yieldToAnswers('rows');
        total += batch.length;
        const written = this.writeBatch(v, batch, priority, levelRaised);
        // Awaited below or in `finally`; a failure meanwhile is not an unhandled rejection.
        written.catch(() => undefined);
        writing.push(written);
        if (writing.length >= depth) await writing.shift();
      }
    } finally {
      // Every batch started is finished (or has failed) before this run ends either way.
      await Promise.all(writing);
    }
    if (version > 1) await this.releaseDropped(v, priority);
    await this.groups.plan(v, priority);
    await this.escalation.scheduleGroupRules(v);
    const eta = await this.firstContactEta(warningId);
    await this.warnings.db.query(
      `UPDATE warnings SET fanout_done_at = now(), first_contact_eta = $2, recipients = $3 WHERE id = $1 AND current_version = $4`,
      [warningId, eta, total, version],
    );
    this.logger.log({ warningId, version, recipients: total }, 'fan-out done');
  }

  /**
   * Backpressure, before each batch after the first: while the send queues hold
   * FANOUT_MAX_BACKLOG jobs or more at this warning's priority or a more urgent one, the fan-out
   * writes nothing more (a routine warning to a million people does not pile a million jobs into
   * the queue backend; a more urgent warning never waits behind a less urgent one's jobs, which it
   * does not count). The wait is bounded (FANOUT_BACKLOG_WAIT_MS a batch): with the sends stalled
   * the fan-out goes on a batch at a time, and the recipients' cursor never sits idle for long.
   * A held fan-out holds a fan-out worker: when a more urgent warning's fan-out waits for one, it
   * writes on at once (as before there was a bound), so the urgent one is never kept waiting.
   * False when the version was cancelled or superseded while it waited.
   */
  private async roomFor(v: VersionRow, priority: number): Promise<boolean> {
    const max = Number(this.config.get('FANOUT_MAX_BACKLOG') ?? MAX_BACKLOG);
    if (max <= 0) return true;
    const until = Date.now() + Number(this.config.get('FANOUT_BACKLOG_WAIT_MS') ?? BACKLOG_WAIT_MS);
    for (let pause = 50, waited = false; ; pause = Math.min(pause * 2, 1000), waited = true) {
      if ((await this.queue.sendsAhead(priority)) < max) {
        if (waited) fanoutBacklogWaits().inc({ outcome: 'room' });
        return !waited || this.stillCurrent(v);
      }
      if (await this.queue.fanoutsAhead(priority)) {
        fanoutBacklogWaits().inc({ outcome: 'urgent' });
        return !waited || this.stillCurrent(v);
      }
      if (Date.now() >= until) {
        fanoutBacklogWaits().inc({ outcome: 'timeout' });
        this.logger.warn(
          { warningId: v.warningId, version: v.version },
          'fan-out writes on: the send queues stayed full for FANOUT_BACKLOG_WAIT_MS',
        );
        return this.stillCurrent(v);
      }
      // Cancelled or superseded while held: nothing more to write.
      if (waited && !(await this.stillCurrent(v))) return false;
      await sleep(Math.min(pause, Math.max(0, until - Date.now())));
    }
  }

  private async stillCurrent(v: VersionRow): Promise<boolean> {
    const w = await this.warnings.findWarning(v.warningId);
    return !!w && w.state === 'active' && w.currentVersion === v.version;
  }

  private async writeBatch(
    v: VersionRow,
    batch: Recipient[],
    priority: number,
    levelRaised: boolean,
  ): Promise<void> {
    // Each person's policy first: a person new to the warning has their chain's first step
    // started in the insert of their delivery (one write of the row).
    const policies = await this.escalation.choosePolicies(v, batch);
    const deliveries = await this.entries.enter(
      v.warningId,
      v.version,
      batch.map((r) => ({
        personId: r.personId,
        role: r.role,
        divisionCode: r.divisionCode,
        gridCode: r.gridCode,
      })),
      'alert',
      levelRaised,
      new Map(
        [...policies].map(([personId, p]) => [
          personId,
          { policyId: p.id, waitSeconds: p.steps[0].waitSeconds },
        ]),
      ),
    );
    const byPerson = new Map(batch.map((r) => [r.personId, r]));
    const contacts = new Map(batch.map((r) => [r.personId, r.contacts]));
    const notices: AttemptToInsert[] = [];
    const chains: {
      id: string;
      personId: string;
      role: string;
      msgType: MessageType;
      startedDueAt?: Date;
    }[] = [];
    // A retried fan-out: a chain already started keeps its step and timers. A run that died
    // between starting the chains and writing their first attempts (two commits) left people
    // whose chain runs but who were never contacted: their first attempts are written now.
    const started = deliveries.filter((d) => d.step > 0 && !d.startedDueAt);
    const late = started.length ? await this.firstAttemptsNeverWritten(v, started, contacts) : [];
    for (const d of deliveries) {
      const r = byPerson.get(d.personId) as Recipient;
      if (d.startedDueAt) {
        // New to the warning: its chain started in the insert; its first contacts follow.
        chains.push({ ...d, role: r.role });
        continue;
      }
      if (d.step > 0) continue; // a retried fan-out: this person's chain already runs
      if (d.msgType === 'update' && (d.state === 'confirmed' || d.state === 'declined')) {
        // Already answered and the level was not raised: a short notice of what changed.
        planNotice(r.contacts).forEach((planned, seq) =>
          notices.push({
            deliveryId: d.id,
            warningId: v.warningId,
            version: v.version,
            msgType: 'update',
            seq,
            planned,
            priority,
          }),
        );
      } else {
        chains.push({ id: d.id, personId: d.personId, role: r.role, msgType: d.msgType });
      }
    }
    const { attempts, unreachable, blocked } = await this.escalation.startChains(
      v,
      chains,
      contacts,
      priority,
      'warning',
      policies,
    );
    const queued = await this.entries.addAttempts([
      ...this.inSendBatches(attempts),
      ...notices,
      ...late.flatMap((l) => l.attempts.map((a) => ({ ...a, priority }))),
    ]);
    // After the attempts: a retried fan-out finds a chain with none written as never started.
    await this.entries.recordBlocked(blocked);
    await this.sendMoves.markUnreachable([
      ...unreachable,
      ...late.filter((l) => !l.attempts.length).map((l) => l.deliveryId),
    ]);
    await this.queue.enqueueAttempts(queued);
  }

  /**
   * The first SMS contacts of a batch of people, in full send batches (DispatchQueue.smsBatchSize,
   * a second of the provider's rate each, so that the batches' pace is the rate); the rest, fewer
   * than a batch, go as jobs of their own, at once. Each attempt keeps its batch's id in its row,
   * for the recovery sweep; a retried fan-out enqueues the rows it finds, with their batches.
   */
  private inSendBatches(attempts: AttemptToInsert[]): AttemptToInsert[] {
    const size = this.queue.smsBatchSize;
    if (size < 2) return attempts;
    const sms = attempts.filter((a) => a.planned.channel === 'sms');
    const batchOf = new Map<AttemptToInsert, string>();
    for (let i = 0; i < sms.length; i += size) {
      const slice = sms.slice(i, i + size);
      if (slice.length < size) continue;
      const id = randomUUID();
      for (const a of slice) batchOf.set(a, id);
    }
    return attempts.map((a) => (batchOf.has(a) ? { ...a, sendBatch: batchOf.get(a) } : a));
  }

  /**
   * Of chains a fan-out already started, those without any attempt of their own alert in this
   * version (notices about others may have reached them meanwhile): step 1 of
   * their policy, as the first run would have written it (nothing when no contact point fits).
   */
  private async firstAttemptsNeverWritten(
    v: VersionRow,
    started: { id: string; personId: string; msgType: MessageType }[],
    contacts: Map<string, Recipient['contacts']>,
  ): Promise<{ deliveryId: string; attempts: Omit<AttemptToInsert, 'priority'>[] }[]> {
    const rows = await this.repo.db.query<{ id: string; policyId: string | null }[]>(
      `SELECT d.id, d.policy_id AS "policyId" FROM deliveries d
        WHERE d.id = ANY($1::uuid[])
          AND NOT EXISTS (SELECT 1 FROM contact_attempts a WHERE a.delivery_id = d.id AND a.version = $2
                             AND a.purpose = 'warning')`,
      [started.map((d) => d.id), v.version],
    );
    const byId = new Map(started.map((d) => [d.id, d]));
    const out: { deliveryId: string; attempts: Omit<AttemptToInsert, 'priority'>[] }[] = [];
    for (const row of rows) {
      const d = byId.get(row.id) as (typeof started)[number];
      const policy = row.policyId ? await this.policies.byId(row.policyId) : undefined;
      const planned = policy ? planStep(policy, 0, contacts.get(d.personId) ?? []) : [];
      out.push({
        deliveryId: d.id,
        attempts: planned.map((p, seq) => ({
          deliveryId: d.id,
          warningId: v.warningId,
          version: v.version,
          msgType: d.msgType,
          seq,
          planned: p,
        })),
      });
    }
    return out;
  }

  /** Update: people no longer concerned get a release if they had been reached. */
  private async releaseDropped(v: VersionRow, priority: number): Promise<void> {
    const dropped = await this.sendMoves.drop(v.warningId, v.version);
    await this.sendNotices(
      v,
      dropped.filter((d) => d.reached),
      priority,
    );
  }

  /** Cancel (解除): everyone already reached is told; nobody else is bothered. */
  private async fanoutCancel(v: VersionRow): Promise<void> {
    const priority = jobPriority(v.content.kind, 'red');
    const closed = await this.sendMoves.cancelUnsent(v.warningId, v.version);
    await this.sendNotices(
      v,
      closed.filter((d) => d.reached),
      priority,
    );
    await this.groups.planCancel(v, priority);
    await this.warnings.db.query(`UPDATE warnings SET fanout_done_at = now() WHERE id = $1`, [
      v.warningId,
    ]);
  }

  private async sendNotices(
    v: VersionRow,
    deliveries: { deliveryId: string; personId: string }[],
    priority: number,
  ) {
    for (let i = 0; i < deliveries.length; i += BATCH) {
      const slice = deliveries.slice(i, i + BATCH);
      const contacts = await this.repo.contactsOf(slice.map((d) => d.personId));
      const attempts: AttemptToInsert[] = slice.flatMap((d) =>
        planNotice(contacts.get(d.personId) ?? []).map((planned, seq) => ({
          deliveryId: d.deliveryId,
          warningId: v.warningId,
          version: v.version,
          msgType: 'cancel' as const,
          seq,
          planned,
          priority,
        })),
      );
      const queued = await this.entries.addAttempts(attempts);
      await this.queue.enqueueAttempts(
        queued.map((a) => ({ id: a.id, channel: a.channel as ChannelKind, priority: a.priority })),
      );
    }
  }

  /** When the last first contact of this warning should go out, given every queue's backlog. */
  private async firstContactEta(warningId: string): Promise<Date> {
    const rates: ChannelRates = {
      sms: Number(this.config.get('TWILIO_SMS_PER_SECOND') ?? 10),
      voice: Number(this.config.get('TWILIO_CALLS_PER_SECOND') ?? 1),
      email: Number(this.config.get('EMAIL_PER_SECOND') ?? 20),
    };
    const rows = await this.warnings.db.query<{ channel: keyof ChannelRates; ahead: number }[]>(
      `SELECT a.channel, count(*)::int AS ahead FROM contact_attempts a
        WHERE a.status IN ('queued', 'sending') AND a.channel IN ('sms', 'voice', 'email')
          AND a.priority <= (SELECT max(priority) FROM contact_attempts WHERE warning_id = $1)
        GROUP BY a.channel`,
      [warningId],
    );
    // What the senders achieve now (a provider slower than its configured rate, too few workers):
    // sends of the last minute per second of it, since the first of them.
    const measured = await this.warnings.db.query<{ channel: keyof ChannelRates; rate: number }[]>(
      `SELECT channel, count(*)::float / greatest(1, extract(epoch FROM now() - min(sent_at))) AS rate
         FROM contact_attempts WHERE sent_at > now() - interval '60 seconds' AND channel IN ('sms', 'voice', 'email')
        GROUP BY channel`,
    );
    const seconds = firstContactSeconds(
      Object.fromEntries(rows.map((r) => [r.channel, r.ahead])),
      rates,
      Object.fromEntries(measured.map((m) => [m.channel, m.rate])),
    );
    return new Date(Date.now() + seconds * 1000);
  }
}
