import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ChannelKind } from '../../channels/channel.types';
import type { RecipientContact } from '../directory/targeting/targeting.types';
import type { MessageType } from '../warnings/warning.types';
import type { PlannedAttempt } from './contact-plan';
import type { DroppedArea } from './message-renderer';
import { rows } from '../../database/sql';
import { type AuditEventInput, AuditService } from '../audit/audit.service';
import { attemptFrom, deliveryFrom, type DeliveryState, sqlList } from '../chain/chain-states';

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

interface UnreachableRow {
  id: string;
  warningId: string;
  personId: string;
  version: number;
}

const UNREACHABLE_RETURNING = `id, warning_id AS "warningId", person_id AS "personId", version`;

/** One event per delivery actually moved to unreachable (ids and a reason code only). */
function unreachableEvents(
  moved: UnreachableRow[],
  reason: 'no_contact_point' | 'contacts_exhausted',
): AuditEventInput[] {
  return moved.map((d) => ({
    actor: 'system',
    action: 'delivery.unreachable',
    subjectType: 'delivery',
    subjectId: d.id,
    warningId: d.warningId,
    data: { personId: d.personId, version: d.version, reason },
  }));
}

/** SQL of the fan-out and the senders: bulk statements, one round trip per batch. */
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

  /** People with no contact point for their first step: unreachable, each recorded once. */
  async markUnreachable(deliveryIds: string[]): Promise<void> {
    if (!deliveryIds.length) return;
    await this.db.transaction(async (m) => {
      const moved = await rows<UnreachableRow>(
        m,
        `UPDATE deliveries SET state = 'unreachable' WHERE id = ANY($1::uuid[]) AND state = 'pending'
         RETURNING ${UNREACHABLE_RETURNING}`,
        [deliveryIds],
      );
      await this.audit.append(unreachableEvents(moved, 'no_contact_point'), m);
    });
  }

  /**
   * People on an earlier version who are no longer targeted: their delivery is closed, and those
   * already reached are told the warning no longer concerns them (a release).
   */
  async releaseDropped(
    warningId: string,
    version: number,
  ): Promise<{ deliveryId: string; personId: string; reached: boolean }[]> {
    return rows(
      this.db,
      `UPDATE deliveries d SET state = 'cancelled', msg_type = 'cancel', version = $2
        WHERE d.warning_id = $1 AND d.version < $2 AND d.msg_type <> 'cancel'
        RETURNING d.id AS "deliveryId", d.person_id AS "personId", d.first_attempt_at IS NOT NULL AS reached`,
      [warningId, version],
    );
  }

  /** Cancel: deliveries of the warning, and whether each was reached. */
  async closeForCancel(
    warningId: string,
    version: number,
  ): Promise<{ deliveryId: string; personId: string; reached: boolean }[]> {
    return rows(
      this.db,
      `UPDATE deliveries d SET
          state = CASE WHEN d.state IN ('pending') THEN 'cancelled' ELSE d.state END,
          version = $2
        WHERE d.warning_id = $1 AND d.version < $2
        RETURNING d.id AS "deliveryId", d.person_id AS "personId", d.first_attempt_at IS NOT NULL AS reached`,
      [warningId, version],
    );
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

  /** Claims several attempts in one statement: the ids that were still claimable. */
  async claimAttempts(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const claimed = await rows<{ id: string }>(
      this.db,
      `UPDATE contact_attempts SET status = 'sending', tries = tries + 1, claimed_at = now()
        WHERE id = ANY($1::uuid[]) AND status IN ${sqlList(attemptFrom('claim'))} RETURNING id`,
      [ids],
    );
    return new Set(claimed.map((c) => c.id));
  }

  /**
   * Records many providers' acceptances in one transaction: the attempts, their deliveries and
   * the audit events, each a single statement. Same rules as attemptSent, which it replaces on
   * the send path; a statement error (a provider id already recorded) fails the whole batch, and
   * the caller then records its items one by one.
   */
  async attemptsSent(
    sends: { id: string; provider: string; providerId: string; segments?: number }[],
  ): Promise<void> {
    if (!sends.length) return;
    await this.db.transaction(async (m) => {
      const sent = await rows<{
        id: string;
        warningId: string;
        deliveryId: string;
        provider: string;
        providerId: string;
        segments: number | null;
      }>(
        m,
        `WITH i AS (
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[]) AS t(id, provider, provider_id, segments)),
         a AS (
           UPDATE contact_attempts c SET status = CASE WHEN c.status = 'sending' THEN 'sent' ELSE c.status END,
                  provider = i.provider, provider_id = i.provider_id, segments = i.segments, sent_at = coalesce(c.sent_at, now())
             FROM i WHERE c.id = i.id AND c.provider_id IS NULL AND c.status <> 'queued'
           RETURNING c.id, c.delivery_id, c.warning_id, c.purpose, i.provider, i.provider_id, i.segments),
         d AS (
           UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markSent'))} THEN 'sent' ELSE d.state END,
                  first_attempt_at = coalesce(d.first_attempt_at, now())
             FROM a WHERE d.id = a.delivery_id AND (a.purpose <> 'notice' OR d.escalated_from IS NOT NULL)
           RETURNING d.id)
         SELECT a.id, a.warning_id AS "warningId", a.delivery_id AS "deliveryId", a.provider,
                a.provider_id AS "providerId", a.segments FROM a`,
        [
          sends.map((s) => s.id),
          sends.map((s) => s.provider),
          sends.map((s) => s.providerId),
          sends.map((s) => s.segments ?? null),
        ],
      );
      await this.audit.append(
        sent.map((s) => ({
          actor: `provider:${s.provider}`,
          action: 'attempt.sent',
          subjectType: 'attempt',
          subjectId: s.id,
          warningId: s.warningId,
          data: {
            deliveryId: s.deliveryId,
            provider: s.provider,
            providerId: s.providerId,
            segments: s.segments ?? null,
          },
        })),
        m,
      );
    });
  }

  /** Claims an attempt for sending; false when it is no longer queued (sent, cancelled, …). */
  async claimAttempt(id: string): Promise<boolean> {
    const claimed = await rows(
      this.db,
      `UPDATE contact_attempts SET status = 'sending', tries = tries + 1, claimed_at = now()
        WHERE id = $1 AND status IN ${sqlList(attemptFrom('claim'))} RETURNING id`,
      [id],
    );
    return claimed.length > 0;
  }

  /**
   * Records what the provider answered to a send: its id and the time. Once (a repeat finds the
   * provider id set). The provider's status callback may have come first (a fast receipt racing
   * this write): a status it set (delivered, completed, failed) is kept.
   */
  async attemptSent(
    id: string,
    provider: string,
    providerId: string,
    segments?: number,
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      const [sent] = await rows<{ warningId: string; deliveryId: string }>(
        m,
        `WITH a AS (
         UPDATE contact_attempts SET status = CASE WHEN status = 'sending' THEN 'sent' ELSE status END,
                provider = $2, provider_id = $3, segments = $4, sent_at = coalesce(sent_at, now())
          WHERE id = $1 AND provider_id IS NULL AND status <> 'queued'
          RETURNING delivery_id, msg_type, warning_id, purpose),
       d AS (
         UPDATE deliveries d SET state = CASE WHEN d.state IN ${sqlList(deliveryFrom('markSent'))} THEN 'sent' ELSE d.state END,
                first_attempt_at = coalesce(d.first_attempt_at, now())
           FROM a WHERE d.id = a.delivery_id AND (a.purpose <> 'notice' OR d.escalated_from IS NOT NULL)
         RETURNING d.id)
       SELECT a.warning_id AS "warningId", a.delivery_id AS "deliveryId" FROM a`,
        [id, provider, providerId, segments ?? null],
      );
      if (!sent) return;
      await this.audit.append(
        [
          {
            actor: `provider:${provider}`,
            action: 'attempt.sent',
            subjectType: 'attempt',
            subjectId: id,
            warningId: sent.warningId,
            data: { deliveryId: sent.deliveryId, provider, providerId, segments: segments ?? null },
          },
        ],
        m,
      );
    });
  }

  /**
   * A claim given back: the provider was not called (its circuit opened), so the attempt waits
   * in the queue again and the try does not count.
   */
  async releaseClaim(id: string): Promise<void> {
    await this.db.query(
      `UPDATE contact_attempts SET status = 'queued', tries = greatest(tries - 1, 0)
        WHERE id = $1 AND status IN ${sqlList(attemptFrom('release'))} AND sent_at IS NULL`,
      [id],
    );
  }

  /** Sent, but the provider's id could not be kept (another attempt already holds it). */
  async attemptSentWithoutId(id: string, provider: string, segments?: number): Promise<void> {
    await this.db.transaction(async (m) => {
      const [sent] = await rows<{ warningId: string; deliveryId: string }>(
        m,
        `UPDATE contact_attempts SET status = CASE WHEN status = 'sending' THEN 'sent' ELSE status END,
                provider = $2, segments = $3, sent_at = now(), error_message = 'provider id already recorded on another attempt'
          WHERE id = $1 AND sent_at IS NULL AND status <> 'queued'
          RETURNING warning_id AS "warningId", delivery_id AS "deliveryId"`,
        [id, provider, segments ?? null],
      );
      if (!sent) return;
      await m.query(
        `UPDATE deliveries SET state = CASE WHEN state IN ${sqlList(deliveryFrom('markSent'))} THEN 'sent' ELSE state END,
                first_attempt_at = coalesce(first_attempt_at, now()) WHERE id = $1`,
        [sent.deliveryId],
      );
      await this.audit.append(
        [
          {
            actor: `provider:${provider}`,
            action: 'attempt.sent',
            subjectType: 'attempt',
            subjectId: id,
            warningId: sent.warningId,
            data: {
              deliveryId: sent.deliveryId,
              provider,
              providerId: null,
              segments: segments ?? null,
            },
          },
        ],
        m,
      );
    });
  }

  async attemptFailed(
    id: string,
    code: string | undefined,
    message: string,
    outcome = 'failed',
  ): Promise<void> {
    await this.db.transaction(async (m) => {
      const [failed] = await rows<{
        warningId: string;
        deliveryId: string;
        provider: string | null;
      }>(
        m,
        `UPDATE contact_attempts SET status = 'failed', outcome = $4, error_code = $2, error_message = left($3, 500), failed_at = now()
        WHERE id = $1 AND status IN ${sqlList(attemptFrom('fail'))}
        RETURNING warning_id AS "warningId", delivery_id AS "deliveryId", provider`,
        [id, code ?? null, message, outcome],
      );
      if (!failed) return;
      // The error message may quote the number: only the code goes into the log.
      await this.audit.append(
        [
          {
            actor: failed.provider ? `provider:${failed.provider}` : 'system',
            action: 'attempt.failed',
            subjectType: 'attempt',
            subjectId: id,
            warningId: failed.warningId,
            data: { deliveryId: failed.deliveryId, code: code ?? null, outcome },
          },
        ],
        m,
      );
    });
  }

  async attemptCancelled(id: string, outcome: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const [cancelled] = await rows<{ warningId: string; deliveryId: string }>(
        m,
        `UPDATE contact_attempts SET status = 'cancelled', outcome = $2 WHERE id = $1 AND status IN ${sqlList(attemptFrom('cancel'))}
         RETURNING warning_id AS "warningId", delivery_id AS "deliveryId"`,
        [id, outcome],
      );
      if (!cancelled) return;
      await this.audit.append(
        [
          {
            actor: 'system',
            action: 'attempt.cancelled',
            subjectType: 'attempt',
            subjectId: id,
            warningId: cancelled.warningId,
            data: { deliveryId: cancelled.deliveryId, outcome },
          },
        ],
        m,
      );
    });
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

  /** When no attempt of the current message can still succeed, the person is unreachable. */
  async markUnreachableIfExhausted(deliveryId: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const moved = await rows<UnreachableRow>(
        m,
        `UPDATE deliveries d SET state = 'unreachable'
          WHERE d.id = $1 AND d.state IN ${sqlList(deliveryFrom('markUnreachable'))}
            AND NOT EXISTS (SELECT 1 FROM contact_attempts a WHERE a.delivery_id = d.id AND a.version = d.version
                               AND a.status NOT IN ('failed', 'cancelled'))
          RETURNING ${UNREACHABLE_RETURNING}`,
        [deliveryId],
      );
      await this.audit.append(unreachableEvents(moved, 'contacts_exhausted'), m);
    });
  }
}
