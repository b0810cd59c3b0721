import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { RecipientContact } from '../../common/domain/targeting.types';
import type { MessageType } from '../../common/domain/warning.types';
import type { DroppedArea } from './message-renderer';
import type { DeliveryState } from '../chain/chain-states';

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
  /**
   * How long ago (ms, by the database's clock) the provider last left a request of this send
   * unanswered; null when it never did.
   */
  unansweredForMs: number | null;
  /** The SMS text whose request the provider left unanswered, as it was sent. */
  unansweredBody: string | null;
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
  w.state AS "warningState", a.covers, a.queued_at AS "queuedAt",
  (extract(epoch FROM now() - a.unanswered_at) * 1000)::int AS "unansweredForMs", a.unanswered_body AS "unansweredBody", (SELECT t.status FROM manual_tasks t WHERE t.id = a.task_id) AS "taskStatus"`;

/**
 * SQL of the fan-out and the senders: deliveries and attempts written, attempts and contacts
 * read; bulk statements, one round trip per batch. The moves of a chain (claimed, sent, failed,
 * unreachable, …) are the chain module's (`SendMoves`, `ChainMoves`, `NoticesRepository`).
 */
@Injectable()
export class DispatchRepository {
  constructor(@InjectDataSource() readonly db: DataSource) {}

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
  async recordedProviderIds(
    provider: string,
    address: string,
    since: Date,
    exceptAttempt?: string,
  ): Promise<string[]> {
    const rows = await this.db.query<{ id: string }[]>(
      `SELECT provider_id AS id FROM contact_attempts
        WHERE provider = $1 AND address = $2 AND provider_id IS NOT NULL AND queued_at >= $3::timestamptz - interval '1 hour'
          AND ($4::uuid IS NULL OR id <> $4::uuid)`,
      [provider, address, since, exceptAttempt ?? null],
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
      purpose: string;
    }[]
  > {
    return this.db.query(
      `SELECT channel, address, status, seq, version, msg_type AS "msgType", purpose FROM contact_attempts WHERE delivery_id = $1 ORDER BY seq`,
      [deliveryId],
    );
  }
}
