import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { jobPriority } from '../../common/queue/queue-names';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import type { ChannelKind } from '../../channels/channel.types';
import type { RecipientContact } from '../directory/targeting/targeting.types';
import { firstContactFor, type PlannedAttempt, planStep } from '../dispatch/contact-plan';
import { DispatchQueue } from '../dispatch/dispatch-queue.service';
import { type AttemptToInsert, DispatchRepository } from '../dispatch/dispatch.repository';
import { TasksService } from '../tasks/tasks.service';
import type { MessageType } from '../warnings/warning.types';
import { type VersionRow, WarningsRepository } from '../warnings/warnings.repository';
import type { EscalationPolicy } from './escalation-policy.types';
import { PoliciesRepository } from './policies.repository';
import { NoticesRepository } from '../chain/notices.repository';
import { escalationsCreated } from '../../common/observability/metrics';

interface ChainDelivery {
  id: string;
  warningId: string;
  personId: string;
  role: string;
  gridCode: string | null;
  version: number;
  msgType: MessageType;
  state: string;
  step: number;
  policyId: string | null;
  supervisorId: string | null;
  kind: 'meteorological_risk' | 'imminent';
  level: 'red' | 'orange' | 'yellow' | 'blue';
  status: string;
  warningState: string;
  /** Brought into the warning by an escalation: their chain carries notices, not the alert. */
  escalatedFrom: string | null;
}

const CHAIN_COLUMNS = `
  d.id, d.warning_id AS "warningId", d.person_id AS "personId", d.role, d.grid_code AS "gridCode", d.version,
  d.msg_type AS "msgType", d.state, d.step, d.policy_id AS "policyId", p.supervisor_id AS "supervisorId",
  w.kind, v.level, w.status, w.state AS "warningState", d.escalated_from AS "escalatedFrom"`;

const CHAIN_FROM = `
  deliveries d JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = d.warning_id
  JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version`;

const ANSWERED = ['confirmed', 'declined', 'cancelled'];

/**
 * 叫应: each person's chain of steps (policy), its durable timers, and escalation when nobody
 * answers. Timers are delayed jobs with deterministic ids whose handlers compare-and-set the
 * delivery's step in Postgres, so a timer delivered twice, late, or after an answer does nothing.
 */
@Injectable()
export class EscalationService {
  private readonly logger = new Logger(EscalationService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly policies: PoliciesRepository,
    private readonly repo: DispatchRepository,
    private readonly queue: DispatchQueue,
    private readonly tasks: TasksService,
    private readonly warnings: WarningsRepository,
    private readonly audit: AuditService,
    private readonly notices: NoticesRepository,
  ) {}

  /** Step 1 of every new chain in a fan-out batch: the attempts to write, and the chain rows set. */
  async startChains(
    v: VersionRow,
    deliveries: { id: string; personId: string; role: string; msgType: MessageType }[],
    contacts: Map<string, RecipientContact[]>,
    priority: number,
    purpose: 'warning' | 'notice' = 'warning',
  ): Promise<{ attempts: AttemptToInsert[]; unreachable: string[] }> {
    const attempts: AttemptToInsert[] = [];
    const unreachable: string[] = [];
    const chosen: { id: string; policy: EscalationPolicy }[] = [];
    const danger = await this.dangerZone(
      v,
      deliveries.map((d) => d.personId),
    );
    for (const d of deliveries) {
      const policy = await this.policies.choose(
        v.content.kind,
        v.level,
        v.content.status,
        d.role,
        danger === 'all' || danger.has(d.personId),
      );
      chosen.push({ id: d.id, policy });
      const planned = planStep(policy, 0, contacts.get(d.personId) ?? []);
      if (!planned.length) unreachable.push(d.id);
      planned.forEach((p, seq) =>
        attempts.push({
          deliveryId: d.id,
          warningId: v.warningId,
          version: v.version,
          msgType: d.msgType,
          seq,
          planned: p,
          priority,
          purpose,
        }),
      );
    }
    if (chosen.length) {
      await this.db.query(
        `UPDATE deliveries d SET policy_id = x.policy_id, step = 1, step_done = 1, step_started_at = now(), not_woken_at = NULL
           FROM unnest($1::uuid[], $2::uuid[]) AS x(id, policy_id) WHERE d.id = x.id`,
        [chosen.map((c) => c.id), chosen.map((c) => c.policy.id)],
      );
      await this.queue.scheduleSteps(
        chosen.map((c) => ({
          deliveryId: c.id,
          version: v.version,
          step: 1,
          delayMs: c.policy.steps[0].waitSeconds * 1000,
        })),
      );
    }
    return { attempts, unreachable };
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
   * A step's wait ran out. The step is advanced by compare-and-set (a timer delivered twice fires
   * once), then its follow-up is carried out and marked done. A fault in between (the job retried,
   * or found by the recovery sweep) finds the step advanced but not done and carries the follow-up
   * out again; each part of it is idempotent.
   */
  async onStepTimer(deliveryId: string, version: number, step: number): Promise<void> {
    const [advanced] = await rows<ChainDelivery>(
      this.db,
      `UPDATE deliveries d SET step = d.step + 1, step_started_at = now()
         FROM people p, warnings w, warning_versions v
        WHERE d.id = $1 AND d.version = $2 AND d.step = $3 AND d.state NOT IN ('confirmed', 'declined', 'cancelled')
          AND p.id = d.person_id AND w.id = d.warning_id AND w.state = 'active'
          AND v.warning_id = w.id AND v.version = w.current_version
        RETURNING ${CHAIN_COLUMNS}`,
      [deliveryId, version, step],
    );
    // Answered, superseded, cancelled, or this timer already fired and its follow-up is done.
    const d = advanced ?? (await this.unfinishedStep(deliveryId, version, step + 1));
    if (!d || !d.policyId) return;
    const policy = await this.policies.byId(d.policyId);
    if (!policy) return;
    if (step < policy.steps.length) {
      // Contacts of the next step, unless a first run already added them (after step_started_at).
      const purpose = d.escalatedFrom ? 'notice' : 'warning';
      const [already] = await this.db.query(
        `SELECT 1 FROM contact_attempts a JOIN deliveries d ON d.id = a.delivery_id
          WHERE a.delivery_id = $1 AND a.purpose = $2 AND a.version = d.version AND a.queued_at >= d.step_started_at LIMIT 1`,
        [d.id, purpose],
      );
      if (!already) {
        const contacts = (await this.repo.contactsOf([d.personId])).get(d.personId) ?? [];
        await this.addAttempts(d, planStep(policy, step, contacts), purpose);
      }
      await this.queue.scheduleSteps([
        {
          deliveryId: d.id,
          version,
          step: step + 1,
          delayMs: policy.steps[step].waitSeconds * 1000,
        },
      ]);
    } else {
      await this.exhausted(d, policy);
    }
    await this.db.query(
      `UPDATE deliveries SET step_done = $3 WHERE id = $1 AND version = $2 AND step = $3 AND step_done < $3`,
      [d.id, version, step + 1],
    );
  }

  /** A chain whose step was advanced but whose follow-up was not marked done. */
  private async unfinishedStep(
    deliveryId: string,
    version: number,
    step: number,
  ): Promise<ChainDelivery | undefined> {
    const [d] = await this.db.query(
      `SELECT ${CHAIN_COLUMNS} FROM ${CHAIN_FROM}
        WHERE d.id = $1 AND d.version = $2 AND d.step = $3 AND d.step_done < d.step
          AND d.state NOT IN ('confirmed', 'declined', 'cancelled') AND w.state = 'active'`,
      [deliveryId, version, step],
    );
    return d;
  }

  /** No answer after the last step: not-woken list, the supervisor, a door-to-door task. */
  private async exhausted(d: ChainDelivery, policy: EscalationPolicy): Promise<void> {
    if (policy.onExhausted.notWoken) {
      // Once: a follow-up carried out again finds the person on the list already.
      await this.db.transaction(async (m) => {
        const [listed] = await rows(
          m,
          `UPDATE deliveries SET not_woken_at = now() WHERE id = $1 AND not_woken_at IS NULL RETURNING id`,
          [d.id],
        );
        if (!listed) return;
        await this.audit.append(
          [
            {
              actor: 'escalation',
              action: 'delivery.not_woken',
              subjectType: 'delivery',
              subjectId: d.id,
              warningId: d.warningId,
              data: { personId: d.personId, version: d.version, policyId: policy.id },
            },
          ],
          m,
        );
      });
    }
    if (policy.onExhausted.supervisor && d.supervisorId)
      await this.escalateTo(d, d.supervisorId, 'not_woken');
    if (policy.onExhausted.doorToDoor && d.gridCode) await this.doorToDoor(d, d.gridCode);
    this.logger.log({ deliveryId: d.id, warningId: d.warningId }, 'not woken: escalated');
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
    await this.db.transaction(async (m) => {
      const [edge] = await m.query(
        `INSERT INTO escalations (warning_id, from_delivery_id, task_id, reason, detail)
         SELECT $1, $2, $3, 'not_woken', 'door_to_door' WHERE NOT EXISTS (SELECT 1 FROM escalations WHERE task_id = $3)
         RETURNING id`,
        [d.warningId, d.id, task.id],
      );
      if (!edge) return;
      await this.audit.append(
        [
          {
            actor: 'escalation',
            action: 'escalation.created',
            subjectType: 'escalation',
            subjectId: edge.id,
            warningId: d.warningId,
            data: {
              fromDeliveryId: d.id,
              taskId: task.id,
              reason: 'not_woken',
              detail: 'door_to_door',
            },
          },
        ],
        m,
      );
    });
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
    await this.db.query(
      `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, escalated_from, escalation_reason)
       VALUES ($1, $2, $3, 'alert', $4, $5, $6, $7, $8)
       ON CONFLICT (warning_id, person_id) DO NOTHING`,
      [
        from.warningId,
        target.id,
        v.version,
        target.role,
        target.divisionCode,
        target.gridCode,
        from.id,
        reason,
      ],
    );
    const [existing] = await this.db.query<
      { id: string; escalatedFrom: string | null; reason: string | null; started: boolean }[]
    >(
      `SELECT d.id, d.escalated_from AS "escalatedFrom", d.escalation_reason AS reason,
              EXISTS (SELECT 1 FROM contact_attempts a WHERE a.delivery_id = d.id) OR d.state <> 'pending' AS started
         FROM deliveries d WHERE d.warning_id = $1 AND d.person_id = $2`,
      [from.warningId, target.id],
    );
    // Brought into the warning by this very escalation (not by another one, or as a recipient).
    const broughtIn = existing.escalatedFrom === from.id && existing.reason === reason;
    // The edge and its audit event commit together. On a repeat (a retried timer or answer, the
    // recovery sweep) the edge is found, and what may not have happened yet is done below.
    const edge = await this.db.transaction(async (m) => {
      const [found] = await m.query<{ id: string; fresh: boolean }[]>(
        `WITH ins AS (
           INSERT INTO escalations (warning_id, from_delivery_id, to_delivery_id, reason) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING id)
         SELECT id, true AS fresh FROM ins
         UNION ALL
         SELECT id, false FROM escalations WHERE from_delivery_id = $2 AND to_delivery_id = $3 AND reason = $4`,
        [from.warningId, from.id, existing.id, reason],
      );
      if (found?.fresh) {
        escalationsCreated().inc({ reason });
        await this.audit.append(
          [
            {
              actor: 'escalation',
              action: 'escalation.created',
              subjectType: 'escalation',
              subjectId: String(found.id),
              warningId: from.warningId,
              data: {
                fromDeliveryId: from.id,
                toDeliveryId: existing.id,
                toPersonId: target.id,
                reason,
                newDelivery: broughtIn,
              },
            },
          ],
          m,
        );
      }
      return found;
    });
    // None: the same escalation is being written by a concurrent run, which carries it out.
    if (!edge) return;
    const priority = jobPriority(v.content.kind, 'red');
    const contacts = await this.repo.contactsOf([target.id]);
    if (broughtIn && !existing.started) {
      // Brought in by this escalation: their own chain, whose messages are notices.
      const { attempts, unreachable } = await this.startChains(
        v,
        [{ id: existing.id, personId: target.id, role: target.role, msgType: 'alert' }],
        contacts,
        priority,
        'notice',
      );
      const queued = await this.repo.insertAttempts(attempts);
      await this.repo.markUnreachable(unreachable);
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
   * never marked done (every retry of the timer failed, or the job was lost), and requests for help
   * that did not reach the supervisor and the duty office (the answer listener failed after the
   * answer was committed). Each is carried out again; every part of it is idempotent.
   */
  async recover(): Promise<void> {
    const behind = await this.db.query<{ id: string; version: number; step: number }[]>(
      `SELECT d.id, d.version, d.step FROM deliveries d JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
        WHERE d.step_done < d.step AND d.step_started_at < now() - interval '2 minutes'
          AND d.state NOT IN ('confirmed', 'declined', 'cancelled')
        ORDER BY d.step_started_at LIMIT 1000`,
    );
    for (const d of behind) {
      await this.recoverOne('step follow-up', d.id, () =>
        this.onStepTimer(d.id, d.version, d.step - 1),
      );
    }

    const help = await this.db.query<{ deliveryId: string; warningId: string }[]>(
      `SELECT d.id AS "deliveryId", d.warning_id AS "warningId"
         FROM deliveries d JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
        WHERE d.help_requested_at < now() - interval '1 minute'
          AND EXISTS (
            SELECT 1 FROM people t
             WHERE (t.id = p.supervisor_id
                    OR (t.role = 'duty_officer' AND starts_with(t.division_code, left(d.division_code, 6)) AND t.id <> d.person_id))
               AND NOT EXISTS (SELECT 1 FROM escalations e JOIN deliveries td ON td.id = e.to_delivery_id
                                WHERE e.from_delivery_id = d.id AND e.reason = 'help_requested' AND td.person_id = t.id))
        LIMIT 1000`,
    );
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
    const retry = [{ channel: 'voice' as const, contactKind: a.contactKind, address: a.address }];
    const delayMs = (retries.withinSeconds / retries.times) * 1000;
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

  /** No responsible person of a grid confirmed in time: its village's responsible persons are alerted. */
  async onGroupRule(warningId: string, version: number, gridCode: string): Promise<void> {
    const [state] = await this.db.query(
      `SELECT w.state, w.current_version AS version,
              EXISTS (SELECT 1 FROM deliveries d WHERE d.warning_id = w.id AND d.grid_code = $2 AND d.role <> 'resident'
                         AND d.state = 'confirmed') AS answered
         FROM warnings w WHERE w.id = $1`,
      [warningId, gridCode],
    );
    if (!state || state.state !== 'active' || state.version !== version || state.answered) return;
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
      { warningId, gridCode, alerted: next.length },
      'group rule: nobody in the grid confirmed',
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
    const queued = await this.repo.insertAttempts(
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
