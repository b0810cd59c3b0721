import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { positive } from '../../common/config-number';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { jobPriority, type StepTimerJob } from '../../common/queue/queue-names';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { AuditService } from '../audit/audit.service';
import type { ChannelKind } from '../../channels/channel.types';
import type { RecipientContact } from '../../common/domain/targeting.types';
import { firstContactFor, type PlannedAttempt, planStep } from '../chain/contact-plan';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { DispatchRepository } from './dispatch.repository';
import { type AttemptToInsert, EntryMoves } from '../chain/entry-moves.repository';
import { SendMoves } from '../chain/send-moves.repository';
import {
  type AdvancedDelivery,
  CHAIN_COLUMNS,
  CHAIN_FROM,
  type ChainDelivery,
  OPEN,
  StepMoves,
} from '../chain/step-moves.repository';
import { NumberLimits } from './number-limits';
import { TasksService } from '../tasks/tasks.service';
import type { MessageType } from '../../common/domain/warning.types';
import { type VersionRow, WarningsRepository } from '../warnings/warnings.repository';
import type { EscalationPolicy } from '../chain/escalation-policy.types';
import { PoliciesRepository } from '../escalation/policies.repository';
import { NoticesRepository } from '../chain/notices.repository';
import { type AnswerListener, AnswerListeners } from '../chain/answer-listener';
import { timerLateness } from '../../common/observability/metrics';

/** What a step timer run did, for its worker. */
export interface StepTimerOutcome {
  /** Deliveries moved to their next step (or to the end of their chain) by this run. */
  advanced: number;
  /**
   * Deliveries of the timer's second that are not due yet (due later within that second), or that
   * a concurrent run holds: the job is to run again at this time (epoch ms).
   */
  againAt?: number;
}

/**
 * Deliveries one statement advances (STEP_TIMER_BATCH); their follow-ups go in batches of the
 * same size.
 */
const STEP_BATCH = 2000;
/** Advancing statements of one step timer run at the same time (STEP_TIMER_MOVERS). */
const STEP_MOVERS = 2;
/** People whose chain ran out escalated at the same time (each is several statements). */
const ENDED_CONCURRENCY = 8;
/** Runs `fn` over `items`, `n` at a time; every item is tried, the first error is thrown after. */
async function eachLimited<T>(items: T[], n: number, fn: (item: T) => Promise<void>) {
  const errors: unknown[] = [];
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item).catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  if (errors.length) throw errors[0];
}

const ANSWERED = ['confirmed', 'declined', 'cancelled'];

/**
 * Part of the recovery sweep: group-rule timers overdue by a minute without an outcome on record
 * (their job lost with the queue backend's data). Only the responsible people of a grid are
 * read (a partial index holds their deliveries), never the residents'.
 */
export const LOST_GROUP_RULES_SQL = `
  SELECT d.warning_id AS "warningId", d.version, d.grid_code AS "gridCode"
         FROM deliveries d JOIN warnings w ON w.id = d.warning_id AND w.state = 'active' AND w.current_version = d.version
         JOIN escalation_policies pol ON pol.id = d.policy_id
        WHERE d.grid_code IS NOT NULL AND d.role <> 'resident' AND d.msg_type <> 'cancel'
          AND pol.group_rule_seconds IS NOT NULL AND w.fanout_done_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM group_rule_outcomes o
                           WHERE o.warning_id = d.warning_id AND o.version = d.version AND o.grid_code = d.grid_code)
        GROUP BY d.warning_id, d.version, d.grid_code, w.fanout_done_at
       HAVING w.fanout_done_at + make_interval(secs => min(pol.group_rule_seconds)) < now() - interval '60 seconds'
        LIMIT 1000`;

/**
 * Part of the recovery sweep: requests for help older than a minute that did not reach the
 * person's supervisor or their county's duty office. Read from the requests (a partial index):
 * the people who should have heard of one are looked up per request, by id and by role.
 */
export const HELP_NOT_PASSED_ON_SQL = `
  SELECT d.id AS "deliveryId", d.warning_id AS "warningId"
    FROM deliveries d JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
    JOIN people p ON p.id = d.person_id
   WHERE d.help_requested_at IS NOT NULL AND d.help_requested_at < now() - interval '1 minute'
     AND EXISTS (
       SELECT 1 FROM (SELECT p.supervisor_id AS id WHERE p.supervisor_id IS NOT NULL
                      UNION ALL
                      SELECT t.id FROM people t
                       WHERE t.role = 'duty_officer' AND t.id <> d.person_id
                         AND starts_with(t.division_code, left(d.division_code, 6))) t
        WHERE NOT EXISTS (SELECT 1 FROM escalations e JOIN deliveries td ON td.id = e.to_delivery_id
                           WHERE e.from_delivery_id = d.id AND e.reason = 'help_requested' AND td.person_id = t.id))
   LIMIT 1000`;

/**
 * 叫应: each person's chain of steps (policy), its durable timers, and escalation when nobody
 * answers. A step's due time is kept in Postgres (`deliveries.step_due_at`); its timer is one
 * delayed job per (warning, version, step, due second) whose handler advances every due delivery
 * of that warning and step in set-based statements, compare-and-set on the step, so a timer
 * delivered twice, late, or after an answer does nothing.
 */
@Injectable()
export class EscalationService implements AnswerListener {
  private readonly logger = new Logger(EscalationService.name);
  /** Chains one step-timer statement moves, and such statements run at once per timer. */
  private readonly stepBatch: number;
  private readonly stepMovers: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly policies: PoliciesRepository,
    private readonly repo: DispatchRepository,
    private readonly entries: EntryMoves,
    private readonly sendMoves: SendMoves,
    private readonly steps: StepMoves,
    private readonly queue: DispatchQueue,
    private readonly tasks: TasksService,
    private readonly warnings: WarningsRepository,
    private readonly audit: AuditService,
    private readonly notices: NoticesRepository,
    private readonly numberLimits: NumberLimits,
    listeners: AnswerListeners,
    config: ConfigService,
  ) {
    // An effective answer stops the person's pending steps; a call for help escalates at once.
    listeners.register(this);
    this.stepBatch = positive(config.get('STEP_TIMER_BATCH'), STEP_BATCH);
    this.stepMovers = positive(config.get('STEP_TIMER_MOVERS'), STEP_MOVERS);
  }

  /** Step 1 of every new chain in a fan-out batch: the attempts to write, and the chain rows set. */
  async startChains(
    v: VersionRow,
    deliveries: {
      id: string;
      personId: string;
      role: string;
      msgType: MessageType;
      /** Its first step already started (in the row's insert, EntryMoves.enter): its due time. */
      startedDueAt?: Date;
    }[],
    contacts: Map<string, RecipientContact[]>,
    priority: number,
    purpose: 'warning' | 'notice' = 'warning',
    /** Each person's policy, when the caller chose them already (choosePolicies). */
    chosenPolicies?: Map<string, EscalationPolicy>,
  ): Promise<{
    attempts: AttemptToInsert[];
    unreachable: string[];
    /**
     * Planned SMS and calls the carrier's limit per number blocked: the caller records them
     * (DispatchRepository.recordBlocked) after it wrote `attempts`, so that a fan-out that dies
     * in between is retried as one that wrote nothing.
     */
    blocked: (AttemptToInsert & { reason: string })[];
  }> {
    const attempts: AttemptToInsert[] = [];
    const unreachable: string[] = [];
    const chosen: { id: string; policy: EscalationPolicy }[] = [];
    const policyOf = chosenPolicies ?? (await this.choosePolicies(v, deliveries));
    const steps: PlannedAttempt[][] = [];
    for (const d of deliveries) {
      const policy = policyOf.get(d.personId) as EscalationPolicy;
      if (!d.startedDueAt) chosen.push({ id: d.id, policy });
      const planned = planStep(policy, 0, contacts.get(d.personId) ?? []);
      // No contact point fits: unreachable. (One the carrier's limit blocks is not: see below.)
      if (!planned.length) unreachable.push(d.id);
      steps.push(planned);
    }
    // Numbers an earlier warning filled the carrier's window of get the next channel instead:
    // one statement for the whole batch. (Notices to people brought in keep the send-time check:
    // what a notice reported is tracked per channel.)
    const now = new Date();
    const plans =
      purpose === 'warning'
        ? await this.numberLimits.plan(
            deliveries.map((d, i) => ({
              contacts: contacts.get(d.personId) ?? [],
              planned: steps[i],
              at: now,
            })),
          )
        : steps.map((planned) => ({ planned, blocked: [] }));
    const blocked: (AttemptToInsert & { reason: string })[] = [];
    deliveries.forEach((d, i) => {
      const row = (planned: PlannedAttempt, seq: number): AttemptToInsert => ({
        deliveryId: d.id,
        warningId: v.warningId,
        version: v.version,
        msgType: d.msgType,
        seq,
        planned,
        priority,
        purpose,
      });
      const { planned, blocked: refused } = plans[i];
      planned.forEach((p, seq) => attempts.push(row(p, seq)));
      refused.forEach((b, n) =>
        blocked.push({ ...row(b.attempt, planned.length + n), reason: b.reason }),
      );
    });
    // Step 1 starts now (unless it started in the row's insert); its due time, kept per
    // delivery, is what the step timer looks for.
    const due = chosen.length
      ? await this.steps.startFirstStep(
          chosen.map((c) => ({
            id: c.id,
            policyId: c.policy.id,
            waitSeconds: c.policy.steps[0].waitSeconds,
          })),
        )
      : [];
    const dueAt = [
      ...due.map((d) => d.dueAt),
      ...deliveries.flatMap((d) => (d.startedDueAt ? [d.startedDueAt] : [])),
    ];
    await this.queue.scheduleStepTimers(
      dueAt.map((at) => ({ warningId: v.warningId, version: v.version, step: 1, dueAt: at })),
    );
    return { attempts, unreachable, blocked };
  }

  /**
   * The policy of each person's chain: by the warning, their role, and whether they are in the
   * version's danger zone (one statement for all of them).
   */
  async choosePolicies(
    v: VersionRow,
    people: { personId: string; role: string }[],
  ): Promise<Map<string, EscalationPolicy>> {
    const danger = await this.dangerZone(
      v,
      people.map((p) => p.personId),
    );
    const out = new Map<string, EscalationPolicy>();
    for (const p of people) {
      out.set(
        p.personId,
        await this.policies.choose(
          v.content.kind,
          v.level,
          v.content.status,
          p.role,
          danger === 'all' || danger.has(p.personId),
        ),
      );
    }
    return out;
  }

  /**
   * Who of these people is in the version's danger zone: threatened by one of its hazard points or
   * risk zones. A warning naming none has the whole targeted area as its place: everyone.
   */
  private async dangerZone(v: VersionRow, personIds: string[]): Promise<Set<string> | 'all'> {
    const sites = [...v.hazardPoints, ...v.riskZones];
    if (!sites.length) return 'all';
    if (!personIds.length) return new Set();
    const threatened = await this.db.query<{ person_id: string }[]>(
      `SELECT DISTINCT person_id FROM hazard_site_people
        WHERE relation = 'threatened' AND site_code = ANY($1::text[]) AND person_id = ANY($2::uuid[])`,
      [sites, personIds],
    );
    return new Set(threatened.map((r) => r.person_id));
  }

  /**
   * A step timer: every open delivery of the warning's version at `step` whose due time has come
   * (by Postgres' clock or the job's, whichever is later) is advanced, a batch per statement; then
   * their follow-ups (the next step's contacts and timers, or escalation when the steps ran out)
   * are carried out batch by batch. A retried job (`retry`) first
   * finishes what an earlier run advanced but did not mark done. Each part is idempotent.
   */
  async onStepsDue(
    t: Omit<StepTimerJob, 'type'>,
    opts: { retry?: boolean } = {},
  ): Promise<StepTimerOutcome> {
    const firedAt = new Date();
    const [w] = await this.db.query<{ state: string }[]>(
      `SELECT state FROM warnings WHERE id = $1`,
      [t.warningId],
    );
    // Ended (cancelled, expired): no chain of it goes on.
    if (!w || w.state !== 'active') return { advanced: 0 };
    if (opts.retry) await this.finishSteps(t.warningId, t.version, t.step + 1, 0);
    // Every due chain is advanced first (the timer "fires" for all of them), then their
    // follow-ups run batch by batch: their work would otherwise delay the later batches' advance.
    // Several movers take batches at the same time, each in its own transaction; one skips the
    // rows another holds, and stops at a short batch (what is left, the others move).
    const batches: AdvancedDelivery[][] = [];
    const mover = async () => {
      for (;;) {
        const batch = await this.steps.advanceDue(t, firedAt, this.stepBatch);
        if (batch.length) batches.push(batch);
        if (batch.length < this.stepBatch) return;
      }
    };
    const moved = await Promise.allSettled(Array.from({ length: this.stepMovers }, mover));
    // A mover's failure fails the run once every mover is done (what moved is followed up by
    // the job's retry, finishSteps).
    const refused = moved.find((m) => m.status === 'rejected');
    if (refused) throw refused.reason;
    const failures: unknown[] = [];
    for (const batch of batches) {
      this.observeLateness(batch, firedAt);
      await this.followUp(batch, t.step).catch((err: unknown) => failures.push(err));
    }
    if (failures.length) throw failures[0];
    const advanced = batches.reduce((n, b) => n + b.length, 0);
    // Deliveries of this second due later than now (or held by a concurrent run): again then.
    const [{ next }] = await this.db.query<{ next: Date | null }[]>(
      `SELECT min(d.step_due_at) AS next FROM deliveries d
        WHERE d.warning_id = $1 AND d.version = $2 AND d.step = $3 AND ${OPEN}
          AND d.step_due_at < to_timestamp($4::bigint + 1)`,
      [t.warningId, t.version, t.step, t.second],
    );
    if (!next) return { advanced };
    return { advanced, againAt: Math.max(new Date(next).getTime(), Date.now() + 50) };
  }

  /**
   * One delivery's step timer (as releases before grouped timers queued it, and for a follow-up
   * carried out again): advanced by the same guarded statement if it is still at `step`, else
   * its follow-up finished if it was advanced but not marked done.
   */
  async onStepTimer(deliveryId: string, version: number, step: number): Promise<void> {
    const firedAt = new Date();
    const advanced = await this.steps.advanceOne(deliveryId, version, step);
    this.observeLateness(advanced, firedAt);
    const d = advanced.length ? advanced : await this.unfinished([deliveryId], version, step + 1);
    if (d.length) await this.followUp(d, step);
  }

  private observeLateness(batch: AdvancedDelivery[], firedAt: Date): void {
    const histogram = timerLateness();
    for (const d of batch) {
      if (!d.firedDueAt) continue;
      const late = (firedAt.getTime() - new Date(d.firedDueAt).getTime()) / 1000;
      histogram.observe({ type: 'step' }, Math.max(0, late));
    }
  }

  /** Chains whose step was advanced to `step` but whose follow-up was not marked done. */
  private async unfinished(ids: string[], version: number, step: number): Promise<ChainDelivery[]> {
    return this.db.query(
      `SELECT ${CHAIN_COLUMNS} FROM ${CHAIN_FROM}
        WHERE d.id = ANY($1::uuid[]) AND d.version = $2 AND d.step = $3 AND d.step_done < d.step
          AND ${OPEN} AND w.state = 'active'`,
      [ids, version, step],
    );
  }

  /**
   * Finishes the follow-ups of a warning's chains advanced to `step` and not marked done, whose
   * step began at least `minAgeSeconds` ago (a batch at a time, in id order). The number found.
   */
  private async finishSteps(
    warningId: string,
    version: number,
    step: number,
    minAgeSeconds: number,
  ): Promise<number> {
    let after = '00000000-0000-0000-0000-000000000000';
    let found = 0;
    const failures: unknown[] = [];
    for (;;) {
      const batch = await this.db.query<ChainDelivery[]>(
        `SELECT ${CHAIN_COLUMNS} FROM ${CHAIN_FROM}
          WHERE d.warning_id = $1 AND d.version = $2 AND d.step = $3 AND d.step_done < d.step
            AND d.step_started_at <= now() - make_interval(secs => $4) AND ${OPEN} AND w.state = 'active'
            AND d.id > $5
          ORDER BY d.id LIMIT $6`,
        [warningId, version, step, minAgeSeconds, after, this.stepBatch],
      );
      if (!batch.length) break;
      found += batch.length;
      after = batch[batch.length - 1].id;
      await this.followUp(batch, step - 1).catch((err: unknown) => failures.push(err));
      if (batch.length < this.stepBatch) break;
    }
    if (failures.length) throw failures[0];
    return found;
  }

  /**
   * What follows the end of step `fired` for chains just moved past it (all of one warning
   * version): the next step's contacts and timers, or, after the last step, the not-woken list,
   * the supervisor and a door-to-door task. Each chain is marked done once its part is carried
   * out; a fault leaves it unmarked for the job's retry or the recovery sweep.
   */
  private async followUp(ds: ChainDelivery[], fired: number): Promise<void> {
    const policies = new Map<string, EscalationPolicy | undefined>();
    for (const id of new Set(ds.map((d) => d.policyId)))
      if (id) policies.set(id, await this.policies.byId(id));
    const next: ChainDelivery[] = [];
    const ended: { d: ChainDelivery; policy: EscalationPolicy }[] = [];
    for (const d of ds) {
      const policy = d.policyId ? policies.get(d.policyId) : undefined;
      if (!policy) continue;
      if (fired < policy.steps.length) next.push(d);
      else ended.push({ d, policy });
    }
    const failures: unknown[] = [];
    if (next.length) {
      await this.nextStep(next, fired, policies).catch((err: unknown) => failures.push(err));
    }
    if (ended.length) {
      await this.chainsEnded(ended, fired + 1).catch((err: unknown) => failures.push(err));
    }
    if (failures.length) throw failures[0];
  }

  /** The next step of chains still running: contacts in bulk, then their timers, then done. */
  private async nextStep(
    ds: ChainDelivery[],
    fired: number,
    policies: Map<string, EscalationPolicy | undefined>,
  ): Promise<void> {
    const own = ds.filter((d) => !d.escalatedFrom);
    if (own.length) await this.nextStepAttempts(own, fired, policies);
    // Chains of people brought in by an escalation carry notices: one by one (they are few).
    for (const d of ds.filter((x) => x.escalatedFrom)) {
      const [already] = await this.db.query(
        `SELECT 1 FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE a.delivery_id = $1 AND a.purpose = 'notice' AND a.version = d.version AND a.queued_at >= d.step_started_at LIMIT 1`,
        [d.id],
      );
      if (already) continue;
      const contacts = (await this.repo.contactsOf([d.personId])).get(d.personId) ?? [];
      const policy = policies.get(d.policyId as string) as EscalationPolicy;
      await this.addAttempts(d, planStep(policy, fired, contacts), 'notice');
    }
    await this.queue.scheduleStepTimers(
      ds
        .filter((d) => d.stepDueAt)
        .map((d) => ({
          warningId: d.warningId,
          version: d.version,
          step: d.step,
          dueAt: new Date(d.stepDueAt as Date),
        })),
    );
    await this.steps.markStepDone(
      ds.map((d) => d.id),
      fired + 1,
    );
  }

  /**
   * The person's own alert at the next step, for a batch: planned per person, written in one
   * statement, enqueued in bulk. A chain whose next contacts a first run already added (since its
   * step began) gets none again; what is queued for it since then is enqueued (a no-op for a job
   * that exists).
   */
  private async nextStepAttempts(
    ds: ChainDelivery[],
    fired: number,
    policies: Map<string, EscalationPolicy | undefined>,
  ): Promise<void> {
    const ids = ds.map((d) => d.id);
    const known = await this.db.query<{ id: string; seq: number; added: boolean }[]>(
      `SELECT d.id, coalesce(max(a.seq), -1) + 1 AS seq,
              coalesce(bool_or(a.purpose = 'warning' AND a.version = d.version AND a.queued_at >= d.step_started_at), false) AS added
         FROM deliveries d LEFT JOIN contact_attempts a ON a.delivery_id = d.id
        WHERE d.id = ANY($1::uuid[]) GROUP BY d.id`,
      [ids],
    );
    const byId = new Map(known.map((k) => [k.id, k]));
    const fresh = ds.filter((d) => !byId.get(d.id)?.added);
    const contacts = await this.repo.contactsOf(fresh.map((d) => d.personId));
    const attempts: AttemptToInsert[] = [];
    const blocked: (AttemptToInsert & { reason: string })[] = [];
    // The step goes out now: numbers whose carrier window is full get the next channel instead.
    const now = new Date();
    const plans = await this.numberLimits.plan(
      fresh.map((d) => ({
        contacts: contacts.get(d.personId) ?? [],
        planned: planStep(
          policies.get(d.policyId as string) as EscalationPolicy,
          fired,
          contacts.get(d.personId) ?? [],
        ),
        at: now,
      })),
    );
    fresh.forEach((d, n) => {
      const seq = byId.get(d.id)?.seq ?? 0;
      const row = (planned: PlannedAttempt, i: number): AttemptToInsert => ({
        deliveryId: d.id,
        warningId: d.warningId,
        version: d.version,
        msgType: d.msgType,
        seq: seq + i,
        planned,
        priority: jobPriority(d.kind, d.level),
        purpose: 'warning',
      });
      const { planned, blocked: refused } = plans[n];
      planned.forEach((p, i) => attempts.push(row(p, i)));
      refused.forEach((b, i) =>
        blocked.push({ ...row(b.attempt, planned.length + i), reason: b.reason }),
      );
    });
    // In key order: two runs finishing the same chains (a retry beside the first run) then wait
    // for each other on the unique key instead of deadlocking, and the second inserts nothing.
    attempts.sort((a, b) =>
      a.deliveryId === b.deliveryId ? a.seq - b.seq : a.deliveryId < b.deliveryId ? -1 : 1,
    );
    await this.entries.addAttempts(attempts);
    await this.entries.recordBlocked(blocked);
    const queued = await this.db.query<{ id: string; channel: ChannelKind; priority: number }[]>(
      `SELECT a.id, a.channel, a.priority FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
        WHERE a.delivery_id = ANY($1::uuid[]) AND a.purpose = 'warning' AND a.version = d.version
          AND a.status = 'queued' AND a.queued_at >= d.step_started_at`,
      [ids],
    );
    await this.queue.enqueueAttempts(queued);
  }

  /**
   * No answer after the last step: the not-woken list (set-based, once per person), then the
   * supervisor and a door-to-door task, a few people at a time. Marked done person by person.
   */
  private async chainsEnded(
    ended: { d: ChainDelivery; policy: EscalationPolicy }[],
    step: number,
  ): Promise<void> {
    const listing = new Map(
      ended.filter((e) => e.policy.onExhausted.notWoken).map((e) => [e.d.id, e]),
    );
    await this.steps.markNotWoken(
      [...listing.values()].map(({ d, policy }) => ({
        deliveryId: d.id,
        warningId: d.warningId,
        personId: d.personId,
        version: d.version,
        policyId: policy.id,
      })),
    );
    await eachLimited(ended, ENDED_CONCURRENCY, async ({ d, policy }) => {
      if (policy.onExhausted.supervisor && d.supervisorId)
        await this.escalateTo(d, d.supervisorId, 'not_woken');
      // A test warning (a roster check) sends nobody door to door: it never reaches residents.
      if (policy.onExhausted.doorToDoor && d.gridCode && d.status !== 'test')
        await this.doorToDoor(d, d.gridCode);
      await this.steps.markStepDone([d.id], step);
      this.logger.log({ deliveryId: d.id, warningId: d.warningId }, 'not woken: escalated');
    });
  }

  /**
   * A door-to-door task about a person not woken, to a member of their grid: once per person and
   * warning, whatever number of times the follow-up runs. A grid without a member to send it to is
   * logged (the supervisor and the not-woken list still have the person); other faults are thrown
   * so that the follow-up is carried out again.
   */
  private async doorToDoor(d: ChainDelivery, grid: string): Promise<void> {
    let [task] = await this.db.query<{ id: string }[]>(
      `SELECT id FROM manual_tasks WHERE subject_delivery_id = $1 AND type = 'door_to_door' AND created_by = 'escalation'
        ORDER BY created_at LIMIT 1`,
      [d.id],
    );
    if (!task) {
      try {
        task = await this.tasks.assign(
          d.warningId,
          { type: 'door_to_door', grid, personId: d.personId, reason: '多次呼叫未应答（未叫醒）' },
          'escalation',
        );
      } catch (err) {
        if (!(err instanceof AppException) || err.code !== ErrorCode.ValidationFailed) throw err;
        this.logger.warn(
          { deliveryId: d.id, err: err.message },
          'no grid member to send a door-to-door task to',
        );
        return;
      }
    }
    await this.steps.openTaskEdge(d, task.id);
  }

  /**
   * Brings `toPersonId` into the chain of `from`: a new delivery (with its own policy chain and
   * the escalation notice) or, if they are already on the warning, the notice on their delivery.
   */
  async escalateTo(
    from: Pick<ChainDelivery, 'id' | 'warningId'>,
    toPersonId: string,
    reason: 'not_woken' | 'help_requested' | 'group_silent',
  ): Promise<void> {
    const v = await this.currentVersion(from.warningId);
    if (!v) return;
    const [target] = await this.db.query(
      `SELECT id, role, division_code AS "divisionCode", grid_code AS "gridCode" FROM people WHERE id = $1`,
      [toPersonId],
    );
    if (!target) return;
    const existing = await this.steps.bringIn(from, target, v.version, reason);
    // Brought into the warning by this very escalation (not by another one, or as a recipient).
    const broughtIn = existing.escalatedFrom === from.id && existing.reason === reason;
    // The edge and its audit event commit together. On a repeat (a retried timer or answer, the
    // recovery sweep) the edge is found, and what may not have happened yet is done below.
    const edge = await this.steps.openEdge(
      from,
      { deliveryId: existing.id, personId: target.id, newDelivery: broughtIn },
      reason,
    );
    // None: the same escalation is being written by a concurrent run, which carries it out. One
    // no longer open (its subject had confirmed before it was written, or it was resolved since)
    // has nothing to tell the target: no notice, no chain of notices started for it.
    if (!edge?.open) return;
    const priority = jobPriority(v.content.kind, 'red');
    const contacts = await this.repo.contactsOf([target.id]);
    if (broughtIn && !existing.started) {
      // Brought in by this escalation: their own chain, whose messages are notices.
      const { attempts, unreachable, blocked } = await this.startChains(
        v,
        [{ id: existing.id, personId: target.id, role: target.role, msgType: 'alert' }],
        contacts,
        priority,
        'notice',
      );
      const queued = await this.entries.addAttempts(attempts);
      await this.entries.recordBlocked(blocked);
      await this.sendMoves.markUnreachable(unreachable);
      await this.queue.enqueueAttempts(queued);
      return;
    }
    // On the warning already (or a repeat): the notice goes out on the channels of the target's
    // first step (call included), whatever the state of their own alert. Queued once per channel
    // while anything they were told of is still unreported.
    const [own] = await this.db.query<{ policyId: string | null }[]>(
      `SELECT policy_id AS "policyId" FROM deliveries WHERE id = $1`,
      [existing.id],
    );
    const policy =
      (own?.policyId ? await this.policies.byId(own.policyId) : undefined) ??
      (await this.policies.choose(v.content.kind, v.level, v.content.status, target.role, true));
    const planned = planStep(policy, 0, contacts.get(target.id) ?? []);
    await this.queue.enqueueAttempts(await this.notices.queue(existing.id, planned, priority));
  }

  /** An effective answer: pending steps stop at once; a request for help alerts the supervisor and the duty office. */
  async onAnswer(e: {
    deliveryId: string;
    warningId: string;
    kind: 'confirm' | 'help';
  }): Promise<void> {
    // The person's queued sends were stopped in the answer's own transaction (ChainMoves).
    // The answer's own transaction stopped the person's queued sends and, for a confirmation,
    // resolved what was reported about them and closed their tasks (AnswersService.record). The
    // not-woken time stays on record (the person is no longer listed once they answered).
    if (e.kind === 'confirm') return;
    const d = await this.chainDelivery(e.deliveryId);
    if (!d) return;
    if (d.supervisorId) await this.escalateTo(d, d.supervisorId, 'help_requested');
    // The duty office of the person's county hears of it too.
    const dutyOfficers = await this.db.query<{ id: string }[]>(
      `SELECT p.id FROM people p JOIN deliveries d ON d.id = $1
        WHERE p.role = 'duty_officer' AND starts_with(p.division_code, left(d.division_code, 6)) AND p.id <> d.person_id`,
      [e.deliveryId],
    );
    for (const o of dutyOfficers)
      if (o.id !== d.supervisorId) await this.escalateTo(d, o.id, 'help_requested');
  }

  /**
   * Part of the recovery sweep (every 30 s): chains whose step advanced but whose follow-up was
   * never marked done (every retry of the timer failed, or the job was lost), group-rule timers
   * the queue backend lost, and requests for help
   * that did not reach the supervisor and the duty office (the answer listener failed after the
   * answer was committed). Each is carried out again; every part of it is idempotent.
   */
  async recover(): Promise<void> {
    const behind = await this.db.query<{ warningId: string; version: number; step: number }[]>(
      `SELECT d.warning_id AS "warningId", d.version, d.step
         FROM deliveries d JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
        WHERE d.step_done < d.step AND d.step_started_at < now() - interval '2 minutes' AND ${OPEN}
        GROUP BY d.warning_id, d.version, d.step`,
    );
    for (const b of behind) {
      try {
        const n = await this.finishSteps(b.warningId, b.version, b.step, 120);
        this.logger.warn({ ...b, deliveries: n }, 'recovered unfinished step follow-ups');
      } catch (err) {
        this.logger.error({ ...b, err: (err as Error).message }, 'step follow-up: recovery failed');
      }
    }

    // Group-rule timers overdue by a minute without an outcome on record: their job was lost with
    // the queue backend's data (the due time is the fan-out's end plus the grid's earliest group
    // rule). Brought back when missing; a job that waits, runs or completed is left alone.
    const groups =
      await this.db.query<{ warningId: string; version: number; gridCode: string }[]>(
        LOST_GROUP_RULES_SQL,
      );
    for (const g of groups) {
      try {
        if (await this.queue.reviveGroupRule(g))
          this.logger.warn(g, 'overdue group-rule timer brought back');
      } catch (err) {
        this.logger.error({ ...g, err: (err as Error).message }, 'group rule: recovery failed');
      }
    }

    const help =
      await this.db.query<{ deliveryId: string; warningId: string }[]>(HELP_NOT_PASSED_ON_SQL);
    for (const h of help) {
      await this.recoverOne('help request', h.deliveryId, () =>
        this.onAnswer({ deliveryId: h.deliveryId, warningId: h.warningId, kind: 'help' }),
      );
    }
  }

  private async recoverOne(what: string, deliveryId: string, fn: () => Promise<void>) {
    try {
      await fn();
      this.logger.warn({ deliveryId }, `recovered an unfinished ${what}`);
    } catch (err) {
      this.logger.error({ deliveryId, err: (err as Error).message }, `${what}: recovery failed`);
    }
  }

  /** Voice: an unanswered, busy or cut-short call is placed again, within the step's retry budget. */
  async onCallUnanswered(attemptId: string): Promise<void> {
    const [a] = await this.db.query(
      `SELECT a.delivery_id AS "deliveryId", a.address, a.contact_kind AS "contactKind", a.purpose, a.covers
         FROM contact_attempts a WHERE a.id = $1`,
      [attemptId],
    );
    if (!a) return;
    if (a.purpose === 'task') return;
    const d = await this.chainDelivery(a.deliveryId);
    if (!d || d.warningState !== 'active') return;
    // The person's own alert stops at their answer; a notice goes on until it is acknowledged.
    if (a.purpose === 'warning' && ANSWERED.includes(d.state)) return;
    const policy = d.policyId
      ? await this.policies.byId(d.policyId)
      : await this.policies.choose(d.kind, d.level, d.status, d.role, true);
    const retries = policy?.steps[Math.max(d.step, 1) - 1]?.voiceRetries;
    if (!retries) return;
    const [{ n }] = await this.db.query(
      `SELECT count(*)::int AS n FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
        WHERE a.delivery_id = $1 AND a.channel = 'voice' AND a.purpose = $2 AND a.version = d.version
          AND a.queued_at >= coalesce(d.step_started_at, d.created_at)
          AND ($2 = 'warning' OR a.covers && $3::uuid[])`,
      [d.id, a.purpose, a.covers ?? []],
    );
    if (n > retries.times) return; // the first call plus `times` retries
    const retry: PlannedAttempt[] = [
      { channel: 'voice', contactKind: a.contactKind, address: a.address },
    ];
    const delayMs = (retries.withinSeconds / retries.times) * 1000;
    if (a.purpose === 'warning') {
      // A retry the carrier's limit would block when it is due: the next channel instead.
      const contacts = (await this.repo.contactsOf([d.personId])).get(d.personId) ?? [];
      const [plan] = await this.numberLimits.plan([
        { contacts, planned: retry, at: new Date(Date.now() + delayMs) },
      ]);
      if (plan.blocked.length) {
        // What goes instead first, then the record of what did not (after it, as a step's).
        await this.addAttempts(d, plan.planned, 'warning', delayMs);
        const [{ seq }] = await this.db.query(
          `SELECT coalesce(max(seq), -1) + 1 AS seq FROM contact_attempts WHERE delivery_id = $1`,
          [d.id],
        );
        await this.entries.recordBlocked(
          plan.blocked.map((b, i) => ({
            deliveryId: d.id,
            warningId: d.warningId,
            version: d.version,
            msgType: d.msgType,
            seq: seq + i,
            planned: b.attempt,
            priority: jobPriority(d.kind, d.level),
            purpose: 'warning',
            reason: b.reason,
          })),
        );
        this.logger.log(
          { deliveryId: d.id, replacedBy: plan.planned[0]?.channel ?? null },
          'call retry blocked by the carrier limit of the number',
        );
        return;
      }
    }
    if (a.purpose === 'notice') {
      // The same notice again, reporting what the unanswered call reported (still open).
      const queued = await this.notices.repeat(
        d.id,
        retry,
        jobPriority(d.kind, d.level),
        a.covers ?? [],
      );
      await this.queue.enqueueAttempts(queued.map((q) => ({ ...q, delayMs })));
      return;
    }
    await this.addAttempts(d, retry, 'warning', delayMs);
  }

  /** Group rule timers for the grids of a fan-out. */
  async scheduleGroupRules(v: VersionRow): Promise<void> {
    const grids = await this.db.query<{ grid: string; seconds: number }[]>(
      `SELECT d.grid_code AS grid, min(p.group_rule_seconds)::int AS seconds
         FROM deliveries d JOIN escalation_policies p ON p.id = d.policy_id
        WHERE d.warning_id = $1 AND d.version = $2 AND d.grid_code IS NOT NULL AND d.role <> 'resident' AND p.group_rule_seconds IS NOT NULL
        GROUP BY d.grid_code`,
      [v.warningId, v.version],
    );
    await this.queue.scheduleGroupRules(
      grids.map((g) => ({
        warningId: v.warningId,
        version: v.version,
        gridCode: g.grid,
        delayMs: g.seconds * 1000,
      })),
    );
  }

  /**
   * The group rule of a grid at its due time: its responsible persons on the warning's current
   * version (recipients, and anyone of the grid brought in by an escalation, as before) are counted against the confirmation rule of the policy that set the rule
   * (the earliest group rule among theirs): one, all, or at least N of them. A person who
   * confirmed and then asked for help counts (the first answer stays); one who only asked for help
   * does not. What was found is recorded once per warning version and grid with its audit event
   * (`group_rule.evaluated`), met or not; a retried timer acts on that record. When the rule is not
   * met, the village's responsible persons are alerted, told how many of how many confirmed.
   */
  async onGroupRule(warningId: string, version: number, gridCode: string): Promise<void> {
    const [w] = await this.db.query<{ state: string; version: number }[]>(
      `SELECT state, current_version AS version FROM warnings WHERE id = $1`,
      [warningId],
    );
    if (!w || w.state !== 'active' || w.version !== version) return;
    const outcome = await this.steps.groupRuleOutcome(warningId, version, gridCode);
    if (!outcome || outcome.met) return;
    const [anchor] = await this.db.query(
      `SELECT d.id, d.warning_id AS "warningId" FROM deliveries d
        WHERE d.warning_id = $1 AND d.grid_code = $2 AND d.role <> 'resident' ORDER BY d.created_at LIMIT 1`,
      [warningId, gridCode],
    );
    if (!anchor) return;
    const next = await this.db.query<{ id: string }[]>(
      `SELECT p.id FROM people p JOIN grids g ON g.code = $1
        WHERE p.role = 'village_responsible' AND p.division_code = g.village_code`,
      [gridCode],
    );
    for (const p of next) await this.escalateTo(anchor, p.id, 'group_silent');
    this.logger.log(
      { warningId, gridCode, alerted: next.length, ...outcome },
      'group rule not met: the village is alerted',
    );
  }

  /**
   * "Call again" from the duty console: a voice call to the person now, on top of their chain
   * (which goes on). Undefined when the warning has ended or the person has no number to call.
   */
  async callAgain(deliveryId: string): Promise<string | undefined> {
    const d = await this.chainDelivery(deliveryId);
    if (!d || d.warningState !== 'active') return undefined;
    const contacts = (await this.repo.contactsOf([d.personId])).get(d.personId) ?? [];
    const c = firstContactFor(contacts, 'voice');
    if (!c) return undefined;
    const queued = await this.addAttempts(
      d,
      [{ channel: 'voice', contactKind: c.kind, address: c.value }],
      'warning',
    );
    return queued[0]?.id;
  }

  private async addAttempts(
    d: Pick<ChainDelivery, 'id' | 'warningId' | 'version' | 'msgType' | 'kind' | 'level'>,
    planned: PlannedAttempt[],
    purpose: 'warning' | 'notice',
    delayMs?: number,
  ): Promise<{ id: string }[]> {
    if (!planned.length) return [];
    if (purpose === 'notice') {
      // The next step of a chain that notices started: everything still open, told again.
      const queued = await this.notices.repeat(d.id, planned, jobPriority(d.kind, d.level), 'open');
      await this.queue.enqueueAttempts(queued.map((q) => ({ ...q, delayMs })));
      return queued;
    }
    const [{ seq }] = await this.db.query(
      `SELECT coalesce(max(seq), -1) + 1 AS seq FROM contact_attempts WHERE delivery_id = $1`,
      [d.id],
    );
    const priority = jobPriority(d.kind, d.level);
    const queued = await this.entries.addAttempts(
      planned.map((p, i) => ({
        deliveryId: d.id,
        warningId: d.warningId,
        version: d.version,
        msgType: d.msgType,
        seq: seq + i,
        planned: p,
        priority,
        purpose,
      })),
    );
    const added = queued.filter((q) => q.seq >= seq);
    await this.queue.enqueueAttempts(
      added.map((q) => ({ ...q, channel: q.channel as ChannelKind, delayMs })),
    );
    return added;
  }

  private async chainDelivery(id: string): Promise<ChainDelivery | undefined> {
    const [d] = await this.db.query(`SELECT ${CHAIN_COLUMNS} FROM ${CHAIN_FROM} WHERE d.id = $1`, [
      id,
    ]);
    return d;
  }

  private async currentVersion(warningId: string): Promise<VersionRow | undefined> {
    const w = await this.warnings.findWarning(warningId);
    return w ? this.warnings.findVersion(warningId, w.currentVersion) : undefined;
  }
}
