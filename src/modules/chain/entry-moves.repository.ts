import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ChannelKind } from '../../channels/channel.types';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import type { PlannedAttempt } from './contact-plan';
import type { MessageType } from '../../common/domain/warning.types';
import { deliveryFrom, sqlList } from './chain-states';

export interface DeliveryUpsert {
  personId: string;
  role: string;
  divisionCode: string;
  gridCode: string | null;
}

export interface UpsertedDelivery {
  id: string;
  personId: string;
  msgType: MessageType;
  state: string;
  /** 0 until the person's chain starts for this version. */
  step: number;
  /**
   * Inserted by this statement (not found there already), its chain's first step started with
   * it when the caller gave a policy for the person: the step's due time.
   */
  startedDueAt?: Date;
}

/** The first step of a new delivery's chain, started in the row's insert. */
export interface FirstStep {
  policyId: string;
  waitSeconds: number;
}

export interface AttemptToInsert {
  deliveryId: string;
  warningId: string;
  version: number;
  msgType: MessageType;
  seq: number;
  planned: PlannedAttempt;
  priority: number;
  /** The person's own alert (default), a notice about someone else, or a task SMS. */
  purpose?: 'warning' | 'notice' | 'task';
  /** The batch job (`send-sms-batch`) that sends it; none: a job of its own. */
  sendBatch?: string;
}

/** An attempt waiting to be sent, as it is enqueued. */
export interface QueuedAttempt {
  id: string;
  channel: ChannelKind;
  priority: number;
  seq: number;
  /** Set for a warning's first SMS contacts sent a batch a job (see DispatchQueue). */
  sendBatch?: string | null;
}

/**
 * How people and messages enter a chain: a person's delivery on a warning (new, or moved to a
 * new version: the `restart` of the state table when the level was raised or they are back in
 * the area), the attempts a step or a failover plans, and the planned attempts a carrier limit
 * blocked (written failed, with the reason). Bulk statements, one round trip per batch; a retried
 * fan-out or step writes nothing twice.
 */
@Injectable()
export class EntryMoves {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * One delivery per person and warning. A person new to the warning gets the alert; one already
   * on it gets the update (or keeps what this same version gave them, when a fan-out is retried).
   */
  async enter(
    warningId: string,
    version: number,
    rows: DeliveryUpsert[],
    firstType: MessageType,
    levelRaised = false,
    firstSteps: Map<string, FirstStep> = new Map(),
  ): Promise<UpsertedDelivery[]> {
    if (!rows.length) return [];
    // A new version restarts the chain (step 0); confirmed people stay confirmed unless the level was raised.
    // A new row starts its chain's first step in the insert when its policy is given: one version
    // of the row, not an insert and an update of every row (StepMoves.startFirstStep, which a
    // row found there already still goes through).
    const found = await this.db.query<
      (Omit<UpsertedDelivery, 'startedDueAt'> & { inserted: boolean; stepDueAt: Date | null })[]
    >(
      // A person enters the chain when the version that first names them was issued.
      `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, entered_at,
                               policy_id, step, step_done, step_started_at, step_due_at)
       SELECT $1, t.person_id, $2, $3, t.role, t.division_code, t.grid_code,
              coalesce((SELECT created_at FROM warning_versions WHERE warning_id = $1 AND version = $2), now()),
              t.policy_id, CASE WHEN t.policy_id IS NULL THEN 0 ELSE 1 END, CASE WHEN t.policy_id IS NULL THEN 0 ELSE 1 END,
              CASE WHEN t.policy_id IS NOT NULL THEN now() END,
              CASE WHEN t.policy_id IS NOT NULL THEN now() + make_interval(secs => t.wait) END
         FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $9::uuid[], $10::int[])
              AS t(person_id, role, division_code, grid_code, policy_id, wait)
       ON CONFLICT (warning_id, person_id) DO UPDATE SET
         msg_type = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.msg_type ELSE 'update' END,
         state = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.state
                      -- restart: back in the area (cancelled), or answered and the level raised
                      WHEN deliveries.state IN ${sqlList(deliveryFrom('restart'))}
                           AND (deliveries.state = 'cancelled' OR $8) THEN 'pending'
                      ELSE deliveries.state END,
         step = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.step ELSE 0 END,
         step_due_at = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.step_due_at END,
         not_woken_at = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.not_woken_at END,
         version = EXCLUDED.version
       RETURNING id, person_id AS "personId", msg_type AS "msgType", state, step,
                 created_at = now() AS inserted, step_due_at AS "stepDueAt"`,
      [
        warningId,
        version,
        firstType,
        rows.map((r) => r.personId),
        rows.map((r) => r.role),
        rows.map((r) => r.divisionCode),
        rows.map((r) => r.gridCode),
        levelRaised,
        rows.map((r) => firstSteps.get(r.personId)?.policyId ?? null),
        rows.map((r) => firstSteps.get(r.personId)?.waitSeconds ?? null),
      ],
    );
    // Inserted by this statement: its `created_at` (default now()) is this transaction's start; a
    // row found there already keeps the time an earlier transaction wrote it.
    return found.map(({ inserted, stepDueAt, ...d }) =>
      inserted && stepDueAt ? { ...d, startedDueAt: new Date(stepDueAt) } : d,
    );
  }

  /** Inserts attempts (a retried fan-out inserts nothing twice) and returns every queued one of the batch. */
  async addAttempts(rows: AttemptToInsert[]): Promise<QueuedAttempt[]> {
    if (!rows.length) return [];
    await this.db.transaction(async (m) => {
      const inserted: {
        id: string;
        delivery_id: string;
        warning_id: string;
        version: number;
        msg_type: string;
        seq: number;
        channel: string;
        contact_kind: string;
        purpose: string;
      }[] = await m.query(
        `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, purpose, send_batch)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::uuid[])
       ON CONFLICT DO NOTHING
       RETURNING id, delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, purpose`,
        [
          rows.map((r) => r.deliveryId),
          rows.map((r) => r.warningId),
          rows.map((r) => r.version),
          rows.map((r) => r.msgType),
          rows.map((r) => r.seq),
          rows.map((r) => r.planned.channel),
          rows.map((r) => r.planned.contactKind),
          rows.map((r) => r.planned.address),
          rows.map((r) => r.priority),
          rows.map((r) => r.purpose ?? 'warning'),
          rows.map((r) => r.sendBatch ?? null),
        ],
      );
      // Only what was inserted: a retried fan-out appends nothing twice. No address (phone numbers).
      await this.audit.append(
        inserted.map((a) => ({
          actor: a.purpose === 'notice' ? 'escalation' : 'system',
          action: 'attempt.created',
          subjectType: 'attempt',
          subjectId: a.id,
          warningId: a.warning_id,
          data: {
            deliveryId: a.delivery_id,
            version: a.version,
            msgType: a.msg_type,
            seq: a.seq,
            channel: a.channel,
            contactKind: a.contact_kind,
            purpose: a.purpose,
          },
        })),
        m,
      );
    });
    return this.db.query(
      `SELECT id, channel, priority, seq, send_batch AS "sendBatch" FROM contact_attempts
        WHERE delivery_id = ANY($1::uuid[]) AND version = $2 AND status = 'queued'`,
      [[...new Set(rows.map((r) => r.deliveryId))], rows[0].version],
    );
  }

  /**
   * Planned SMS and calls a carrier limit blocked at planning time: each written as an attempt
   * that never went out (failed, outcome number_limit, its reason), so the chain's timeline, the
   * audit log and the console say why the person was not called or texted on that number. A row
   * already written (the same planning carried out again) is left as it is.
   */
  async recordBlocked(blocked: (AttemptToInsert & { reason: string })[]): Promise<void> {
    if (!blocked.length) return;
    await this.db.transaction(async (m) => {
      const inserted = await rows<{ id: string; warningId: string; deliveryId: string }>(
        m,
        `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address,
                                       priority, purpose, status, outcome, error_code, error_message, failed_at)
         SELECT x.delivery_id, x.warning_id, x.version, x.msg_type, x.seq, x.channel, x.contact_kind, x.address,
                x.priority, x.purpose, 'failed', 'number_limit', 'number_limit', left(r.reason, 500), now()
           FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[])
                WITH ORDINALITY AS x(delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, purpose, n)
           JOIN unnest($11::text[]) WITH ORDINALITY AS r(reason, n) ON r.n = x.n
         ON CONFLICT DO NOTHING
         RETURNING id, warning_id AS "warningId", delivery_id AS "deliveryId"`,
        [
          blocked.map((r) => r.deliveryId),
          blocked.map((r) => r.warningId),
          blocked.map((r) => r.version),
          blocked.map((r) => r.msgType),
          blocked.map((r) => r.seq),
          blocked.map((r) => r.planned.channel),
          blocked.map((r) => r.planned.contactKind),
          blocked.map((r) => r.planned.address),
          blocked.map((r) => r.priority),
          blocked.map((r) => r.purpose ?? 'warning'),
          blocked.map((r) => r.reason),
        ],
      );
      // The code only: the reason names no number, but the log never carries addresses.
      await this.audit.append(
        inserted.map((a) => ({
          actor: 'planner',
          action: 'attempt.failed',
          subjectType: 'attempt',
          subjectId: a.id,
          warningId: a.warningId,
          data: {
            deliveryId: a.deliveryId,
            code: 'number_limit',
            outcome: 'number_limit',
            planned: true,
          },
        })),
        m,
      );
    });
  }
}
