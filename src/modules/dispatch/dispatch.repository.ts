import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ChannelKind } from '../../channels/channel.types';
import type { RecipientContact } from '../directory/targeting/targeting.types';
import type { MessageType } from '../warnings/warning.types';
import type { PlannedAttempt } from './contact-plan';
import type { DroppedArea } from './message-renderer';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import type { DeliveryState } from '../chain/chain-states';

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
}

export interface AttemptRow {
  id: string;
  deliveryId: string;
  warningId: string;
  version: number;
  msgType: MessageType;
  seq: number;
  channel: 'sms' | 'voice' | 'email' | 'manual';
  contactKind: string;
  address: string;
  priority: number;
  status: string;
  tries: number;
  providerId: string | null;
  purpose: 'warning' | 'notice' | 'task';
  /** A task SMS: its task's status. */
  taskStatus: string | null;
  /** A notice: the escalation edges it reports (fixed when claimed). */
  covers: string[] | null;
  queuedAt: Date;
  personId: string;
  personName: string;
  personRole: string;
  deliveryState: string;
  warningState: string;
}

const ATTEMPT_COLUMNS = `
  a.id, a.delivery_id AS "deliveryId", a.warning_id AS "warningId", a.version, a.msg_type AS "msgType", a.seq,
  a.channel, a.contact_kind AS "contactKind", a.address, a.priority, a.status, a.tries, a.provider_id AS "providerId", a.purpose,
  d.person_id AS "personId", p.name AS "personName", p.role AS "personRole", d.state AS "deliveryState",
  w.state AS "warningState", a.covers, a.queued_at AS "queuedAt", (SELECT t.status FROM manual_tasks t WHERE t.id = a.task_id) AS "taskStatus"`;

/**
 * SQL of the fan-out and the senders: deliveries and attempts written, attempts and contacts
 * read; bulk statements, one round trip per batch. The moves of a chain (claimed, sent, failed,
 * unreachable, …) are the chain module's (`SendMoves`, `ChainMoves`, `NoticesRepository`).
 */
@Injectable()
export class DispatchRepository {
  constructor(
    @InjectDataSource() readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * One delivery per person and warning. A person new to the warning gets the alert; one already
   * on it gets the update (or keeps what this same version gave them, when a fan-out is retried).
   */
  async upsertDeliveries(
    warningId: string,
    version: number,
    rows: DeliveryUpsert[],
    firstType: MessageType,
    levelRaised = false,
  ): Promise<UpsertedDelivery[]> {
    if (!rows.length) return [];
    // A new version restarts the chain (step 0); confirmed people stay confirmed unless the level was raised.
    return this.db.query(
      // A person enters the chain when the version that first names them was issued.
      `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, entered_at)
       SELECT $1, t.person_id, $2, $3, t.role, t.division_code, t.grid_code,
              coalesce((SELECT created_at FROM warning_versions WHERE warning_id = $1 AND version = $2), now())
         FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[]) AS t(person_id, role, division_code, grid_code)
       ON CONFLICT (warning_id, person_id) DO UPDATE SET
         msg_type = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.msg_type ELSE 'update' END,
         state = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.state
                      WHEN deliveries.state = 'cancelled' THEN 'pending'
                      WHEN $8 AND deliveries.state IN ('confirmed', 'declined') THEN 'pending'
                      ELSE deliveries.state END,
         step = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.step ELSE 0 END,
         step_due_at = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.step_due_at END,
         not_woken_at = CASE WHEN deliveries.version = EXCLUDED.version THEN deliveries.not_woken_at END,
         version = EXCLUDED.version
       RETURNING id, person_id AS "personId", msg_type AS "msgType", state, step`,
      [
        warningId,
        version,
        firstType,
        rows.map((r) => r.personId),
        rows.map((r) => r.role),
        rows.map((r) => r.divisionCode),
        rows.map((r) => r.gridCode),
        levelRaised,
      ],
    );
  }

  /** Inserts attempts (a retried fan-out inserts nothing twice) and returns every queued one of the batch. */
  async insertAttempts(
    rows: AttemptToInsert[],
  ): Promise<{ id: string; channel: ChannelKind; priority: number; seq: number }[]> {
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
        `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, purpose)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[])
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
      `SELECT id, channel, priority, seq FROM contact_attempts
        WHERE delivery_id = ANY($1::uuid[]) AND version = $2 AND status = 'queued'`,
      [[...new Set(rows.map((r) => r.deliveryId))], rows[0].version],
    );
  }

  /**
   * A release (msg type cancel) of a warning whose current version is an update went to a person
   * dropped by it: their own area and the level of the version they had. Undefined otherwise.
   */
  async droppedArea(
    a: Pick<AttemptRow, 'deliveryId' | 'warningId' | 'version' | 'msgType'>,
    versionMsgType: string,
  ): Promise<DroppedArea | undefined> {
    if (a.msgType !== 'cancel' || versionMsgType === 'cancel') return undefined;
    // Still inside an area of the new version (a division at or above theirs, or their own grid,
    // areas holding grid codes too): only the audience changed, no place to name. Otherwise the
    // place that left: their grid when the earlier version named it, else their division.
    const [row] = await this.db.query(
      `SELECT coalesce(CASE WHEN d.grid_code = ANY (pv.areas) THEN g.name END, dv.name, g.name, d.division_code) AS place,
              pv.level,
              EXISTS (SELECT 1 FROM unnest(cv.areas) ar
                       WHERE starts_with(d.division_code, ar) OR ar = d.grid_code) AS covered
         FROM deliveries d LEFT JOIN divisions dv ON dv.code = d.division_code
         LEFT JOIN grids g ON g.code = d.grid_code
         LEFT JOIN warning_versions pv ON pv.warning_id = d.warning_id AND pv.version = $2 - 1
         LEFT JOIN warning_versions cv ON cv.warning_id = d.warning_id AND cv.version = $2
        WHERE d.id = $1`,
      [a.deliveryId, a.version],
    );
    if (!row?.level) return undefined;
    return { places: row.covered ? [] : [row.place], level: row.level };
  }

  /** Provider ids already recorded for messages to this address since then (reconciliation). */
  async recordedProviderIds(provider: string, address: string, since: Date): Promise<string[]> {
    const rows = await this.db.query<{ id: string }[]>(
      `SELECT provider_id AS id FROM contact_attempts
        WHERE provider = $1 AND address = $2 AND provider_id IS NOT NULL AND queued_at >= $3::timestamptz - interval '1 hour'`,
      [provider, address, since],
    );
    return rows.map((r) => r.id);
  }

  async deliveryState(deliveryId: string): Promise<DeliveryState | undefined> {
    const [d] = await this.db.query(`SELECT state FROM deliveries WHERE id = $1`, [deliveryId]);
    return d?.state;
  }

  async contactsOf(personIds: string[]): Promise<Map<string, RecipientContact[]>> {
    if (!personIds.length) return new Map();
    const rows = await this.db.query<{ person_id: string; contacts: RecipientContact[] }[]>(
      `SELECT person_id, json_agg(json_build_object('kind', kind, 'value', value, 'priority', priority, 'verifiedAt', verified_at)
                                  ORDER BY priority, kind, value) AS contacts
         FROM contact_points WHERE person_id = ANY($1::uuid[]) GROUP BY person_id`,
      [personIds],
    );
    return new Map(rows.map((r) => [r.person_id, r.contacts]));
  }

  async findAttempt(id: string): Promise<AttemptRow | undefined> {
    const [row] = await this.db.query(
      `SELECT ${ATTEMPT_COLUMNS} FROM contact_attempts a
         JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = a.warning_id
        WHERE a.id = $1`,
      [id],
    );
    return row;
  }

  /** Several attempts in one statement (the senders' batched reads); missing ids are left out. */
  async findAttempts(ids: string[]): Promise<AttemptRow[]> {
    if (!ids.length) return [];
    return this.db.query(
      `SELECT ${ATTEMPT_COLUMNS} FROM contact_attempts a
         JOIN deliveries d ON d.id = a.delivery_id JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = a.warning_id
        WHERE a.id = ANY($1::uuid[])`,
      [ids],
    );
  }

  async attemptsOfDelivery(deliveryId: string): Promise<
    {
      channel: string;
      address: string;
      status: string;
      seq: number;
      version: number;
      msgType: string;
    }[]
  > {
    return this.db.query(
      `SELECT channel, address, status, seq, version, msg_type AS "msgType" FROM contact_attempts WHERE delivery_id = $1 ORDER BY seq`,
      [deliveryId],
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
