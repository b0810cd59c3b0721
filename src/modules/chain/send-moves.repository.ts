import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { rows } from '../../database/sql';
import { type AuditEventInput, AuditService } from '../audit/audit.service';
import { attemptFrom, deliveryFrom, sqlList } from './chain-states';
import { claimFree, heldClaim, letGoClaim, type SendClaim } from './send-claims';
import { OWN_MESSAGE } from './chain-moves.repository';

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

/** The event of a send the provider accepted (its id, when it could be kept). */
function sentEvent(s: {
  id: string;
  warningId: string;
  deliveryId: string;
  provider: string;
  providerId: string | null;
  segments?: number | null;
}): AuditEventInput {
  return {
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
  };
}

/**
 * The chain's moves driven by sending: an attempt claimed, sent (the provider accepted it),
 * given back, failed or cancelled; a person unreachable; deliveries closed by a cancel or dropped
 * by an update. Each is one statement guarded by the state table (`chain-states.ts`), in one
 * transaction with its audit event, and leaves alone a row that is not in a state the move starts
 * from. The senders (dispatch) and the recovery sweep decide when; this says how.
 */
@Injectable()
export class SendMoves {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

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
  async drop(
    warningId: string,
    version: number,
  ): Promise<{ deliveryId: string; personId: string; reached: boolean }[]> {
    return this.db.transaction(async (m) => {
      const dropped = await rows<{ deliveryId: string; personId: string; reached: boolean }>(
        m,
        `UPDATE deliveries d SET state = 'cancelled', msg_type = 'cancel', version = $2
          WHERE d.warning_id = $1 AND d.version < $2 AND d.msg_type <> 'cancel'
            AND d.state IN ${sqlList(deliveryFrom('drop'))}
          RETURNING d.id AS "deliveryId", d.person_id AS "personId", d.first_attempt_at IS NOT NULL AS reached`,
        [warningId, version],
      );
      // One event per person dropped (ids only), as for every other move of a delivery.
      await this.audit.append(
        dropped.map((d) => ({
          actor: 'system',
          action: 'delivery.dropped',
          subjectType: 'delivery',
          subjectId: d.deliveryId,
          warningId,
          data: { personId: d.personId, version, reached: d.reached },
        })),
        m,
      );
      return dropped;
    });
  }

  /** Cancel: deliveries of the warning, and whether each was reached. */
  async cancelUnsent(
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

  /**
   * Claims several attempts in one statement, each for the run of its send job named by its
   * token: the ids that were still claimable (see `claimFree`).
   */
  async claimMany(claims: SendClaim[], leaseSeconds: number): Promise<Set<string>> {
    if (!claims.length) return new Set();
    const claimed = await rows<{ id: string }>(
      this.db,
      `UPDATE contact_attempts c SET status = 'sending', tries = c.tries + 1, claimed_at = now(), claim_token = i.token
         FROM unnest($1::uuid[], $2::uuid[]) AS i(id, token)
        WHERE c.id = i.id AND c.status IN ${sqlList(attemptFrom('claim'))} AND ${claimFree('c', '$3')}
        RETURNING c.id`,
      [claims.map((c) => c.id), claims.map((c) => c.token), leaseSeconds],
    );
    return new Set(claimed.map((c) => c.id));
  }

  /** A claim this run could not take: the attempt's state, and how long its holder still has (ms). */
  claimHeld(id: string, leaseSeconds: number) {
    return heldClaim(this.db, 'contact_attempts', id, leaseSeconds);
  }

  /**
   * A run of a send job ends without a result (its try failed and BullMQ tries again, or its
   * acceptance is kept in the job for recording): its claim is let go, so that the next run takes
   * it at once (and asks the provider first). The attempt stays `sending`. `unanswered`: the
   * try ended on a request the provider left unanswered, which it may still accept; the next
   * try asks it only once it has had the time to (`unanswered_at`, SEND_UNANSWERED_SETTLE_MS).
   */
  letGo(id: string, token: string, unanswered = false, body?: string): Promise<void> {
    if (!unanswered) return letGoClaim(this.db, 'contact_attempts', id, token);
    // Its request was left unanswered: the provider may still take it (see unanswered_at), under
    // the text it was sent with (`body`, an SMS's), which is what it is asked for later.
    return this.db
      .query(
        `UPDATE contact_attempts SET claim_token = NULL, unanswered_at = now(),
                unanswered_body = coalesce($3, unanswered_body)
          WHERE id = $1 AND claim_token = $2`,
        [id, token, body ?? null],
      )
      .then(() => undefined);
  }

  /**
   * Records many providers' acceptances in one transaction: the attempts, their deliveries and
   * the audit events, each a single statement. Same rules as markSent, which it replaces on
   * the send path; a statement error (a provider id already recorded) fails the whole batch, and
   * the caller then records its items one by one.
   */
  async markSentMany(
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
      await this.audit.append(sent.map(sentEvent), m);
    });
  }

  /**
   * Records what the provider answered to a send: its id and the time. Once (a repeat finds the
   * provider id set). The provider's status callback may have come first (a fast receipt racing
   * this write): a status it set (delivered, completed, failed) is kept.
   */
  async markSent(
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
      await this.audit.append([sentEvent({ id, ...sent, provider, providerId, segments })], m);
    });
  }

  /**
   * A provider's callback named the message or call of this attempt, which has recorded nothing
   * and whose try has let go (ChainMoves.awaitsProviderId): recorded as sent with the provider's
   * id, as `markSent` (once; a provider id already recorded on another attempt is never taken).
   * The callback is the provider's own word about which message is this attempt's, so nothing has
   * to be guessed from a list of recent messages (a body that changed since, two unanswered calls
   * to one number). Returns whether it recorded.
   */
  async recordFromCallback(id: string, provider: string, providerId: string): Promise<boolean> {
    try {
      await this.markSent(id, provider, providerId);
    } catch (err) {
      // Recorded on another attempt already (the unique provider id): never two on one message.
      if ((err as { code?: string }).code === '23505') return false;
      throw err;
    }
    return true;
  }

  /**
   * A claim given back by the run that holds it: the provider was not called (its circuit
   * opened, a rate or carrier limit said wait), so the attempt waits in the queue again and the
   * try does not count.
   */
  async release(id: string, token: string): Promise<void> {
    await this.db.query(
      `UPDATE contact_attempts SET status = 'queued', tries = greatest(tries - 1, 0), claim_token = NULL
        WHERE id = $1 AND status IN ${sqlList(attemptFrom('release'))} AND sent_at IS NULL
          AND claim_token = $2`,
      [id, token],
    );
  }

  /** Sent, but the provider's id could not be kept (another attempt already holds it). */
  async markSentWithoutId(id: string, provider: string, segments?: number): Promise<void> {
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
        [sentEvent({ id, ...sent, provider, providerId: null, segments })],
        m,
      );
    });
  }

  async fail(
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

  async cancel(id: string, outcome: string): Promise<void> {
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

  /** When no attempt of the current message can still succeed, the person is unreachable. */
  async markUnreachableIfExhausted(deliveryId: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const moved = await rows<UnreachableRow>(
        m,
        `UPDATE deliveries d SET state = 'unreachable'
          WHERE d.id = $1 AND d.state IN ${sqlList(deliveryFrom('markUnreachable'))}
            -- Of the person's own messages: a notice about others that reached them is not their alert.
            AND NOT EXISTS (SELECT 1 FROM contact_attempts a WHERE a.delivery_id = d.id AND a.version = d.version
                               AND ${OWN_MESSAGE} AND a.status NOT IN ('failed', 'cancelled'))
          RETURNING ${UNREACHABLE_RETURNING}`,
        [deliveryId],
      );
      await this.audit.append(unreachableEvents(moved, 'contacts_exhausted'), m);
    });
  }

  /**
   * A warning ended (cancelled or expired): every message of it still waiting in the queue is
   * cancelled with the reason, in the caller's transaction (the warning's own state change), and
   * counted for its audit event (a county-wide warning may have thousands queued: not listed).
   * The releases a cancel queues are kept. A send a worker has already taken re-checks the
   * warning's state itself before it reaches the provider.
   */
  async cancelQueuedOfWarning(
    m: EntityManager,
    warningId: string,
    outcome: 'warning_cancelled' | 'warning_expired',
  ): Promise<number> {
    const [c] = await rows<{ n: number }>(
      m,
      `WITH c AS (
         UPDATE contact_attempts SET status = 'cancelled', outcome = $2
          WHERE warning_id = $1 AND status = 'queued' AND ($2 <> 'warning_cancelled' OR msg_type <> 'cancel')
          RETURNING 1)
       SELECT count(*)::int AS n FROM c`,
      [warningId, outcome],
    );
    return c.n;
  }
}
