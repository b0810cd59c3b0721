import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { rows } from '../../database/sql';
import { escalationsCreated } from '../../common/observability/metrics';
import { AuditService, type AuditEventInput } from '../audit/audit.service';
import type { MessageType } from '../../common/domain/warning.types';
import { CHAIN_CLOSED, DELIVERY_MOVES, type DeliveryState, sqlList } from './chain-states';
import { resolveForSubjectIn } from './chain-moves.repository';
import { type EscalationReason, gridAnswersLockSql } from './notices.repository';
import {
  evaluateGroupRule,
  type GroupConfirm,
  type GroupRuleOutcome,
  toGroupConfirm,
} from './escalation-policy.types';

/** A person's chain on a warning, as the step timers and escalations read it. */
export interface ChainDelivery {
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
  /** When the wait of the current step runs out (NULL: no step timer pending). */
  stepDueAt: Date | null;
}

/** A chain a step timer moved on, with the due time of the step whose wait ran out. */
export interface AdvancedDelivery extends ChainDelivery {
  firedDueAt: Date | null;
}

/** The open chains of the state table, as a guard written into SQL. */
export const OPEN = `d.state NOT IN ${sqlList(CHAIN_CLOSED)}`;

/** The columns of a ChainDelivery, over CHAIN_FROM. */
export const CHAIN_COLUMNS = `
  d.id, d.warning_id AS "warningId", d.person_id AS "personId", d.role, d.grid_code AS "gridCode", d.version,
  d.msg_type AS "msgType", d.state, d.step, d.policy_id AS "policyId", p.supervisor_id AS "supervisorId",
  w.kind, v.level, w.status, w.state AS "warningState", d.escalated_from AS "escalatedFrom",
  d.step_due_at AS "stepDueAt"`;

export const CHAIN_FROM = `
  deliveries d JOIN people p ON p.id = d.person_id JOIN warnings w ON w.id = d.warning_id
  JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version`;

/**
 * Chains whose step's wait ran out, found and locked for their move: `filter` selects the
 * candidates over `d` (open, of an active warning); the last parameter is the batch size. Rows
 * another run holds are skipped, not waited for. With the warning's columns the move returns.
 */
const findDueSql = (filter: string, limitParam: string) => `
  SELECT d.id, d.step_due_at AS "firedDueAt", w.kind, v.level, w.status, w.state AS "warningState"
    FROM deliveries d JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
    JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
   WHERE ${filter} AND ${OPEN}
   ORDER BY d.step_due_at
   LIMIT ${limitParam}
   FOR NO KEY UPDATE OF d SKIP LOCKED`;

/**
 * The move of the chains found (locked by this transaction) to their next step, guarded by the
 * step they were found at and by the open states; the next step's due time from the policy (NULL
 * after the last step). Rows are reached by primary key only: the statement reads the batch, not
 * the warning's other deliveries (joined to the warning, the planner could read all of them for
 * every batch, or compare each with every row of the batch).
 */
const MOVE_SQL = `
  UPDATE deliveries d SET step = d.step + 1, step_started_at = now(),
         step_due_at = now() + make_interval(secs => (
           SELECT (pol.steps -> d.step ->> 'waitSeconds')::int FROM escalation_policies pol WHERE pol.id = d.policy_id))
   WHERE d.id = ANY($1::uuid[]) AND d.step = $2 AND ${OPEN}
  RETURNING d.id, d.warning_id AS "warningId", d.person_id AS "personId", d.role, d.grid_code AS "gridCode",
            d.version, d.msg_type AS "msgType", d.state, d.step, d.policy_id AS "policyId",
            (SELECT p.supervisor_id FROM people p WHERE p.id = d.person_id) AS "supervisorId",
            d.escalated_from AS "escalatedFrom", d.step_due_at AS "stepDueAt"`;

/** The warning's columns of a chain found due, and the due time that ran out. */
type WarningColumns = 'kind' | 'level' | 'status' | 'warningState';
type FoundDue = Pick<AdvancedDelivery, 'id' | 'firedDueAt' | WarningColumns>;

/**
 * The chain's moves along its steps and up to superiors: the first step started, a step's wait
 * run out (advance), a step's follow-up done, a person not woken, an escalation edge opened.
 * Each is one statement guarded by where the chain is (its step, its open states, an edge not
 * there yet), with its audit event in the same transaction, so a timer, follow-up or answer
 * carried out twice moves nothing twice. The escalation service decides when and what follows
 * (contacts, notices, tasks); this says how the chain moves.
 */
@Injectable()
export class StepMoves {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * Step 1 of new chains starts now (policy chosen, its wait set); returns the due times, one per
   * second they fall in (what the grouped step timers are scheduled by).
   */
  async startFirstStep(
    chosen: { id: string; policyId: string; waitSeconds: number }[],
  ): Promise<{ dueAt: Date }[]> {
    if (!chosen.length) return [];
    return this.db.query<{ dueAt: Date }[]>(
      `WITH s AS (
         UPDATE deliveries d SET policy_id = x.policy_id, step = 1, step_done = 1, step_started_at = now(),
                step_due_at = now() + make_interval(secs => x.wait), not_woken_at = NULL
           FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS x(id, policy_id, wait) WHERE d.id = x.id
         RETURNING d.step_due_at)
       SELECT min(step_due_at) AS "dueAt" FROM s GROUP BY floor(extract(epoch FROM step_due_at))`,
      [chosen.map((c) => c.id), chosen.map((c) => c.policyId), chosen.map((c) => c.waitSeconds)],
    );
  }

  /** The chains of a warning's step due by `firedAt` (at most `limit`), moved to their next step. */
  advanceDue(
    t: { warningId: string; version: number; step: number },
    firedAt: Date,
    limit: number,
  ): Promise<AdvancedDelivery[]> {
    return this.advance(
      findDueSql(
        `d.warning_id = $1 AND d.version = $2 AND d.step = $3 AND d.step_due_at <= greatest(now(), $4::timestamptz)`,
        '$5',
      ),
      [t.warningId, t.version, t.step, firedAt, limit],
      t.step,
    );
  }

  /** One chain moved to its next step if it is still at `step`. */
  advanceOne(deliveryId: string, version: number, step: number): Promise<AdvancedDelivery[]> {
    return this.advance(
      findDueSql(`d.id = $1 AND d.version = $2 AND d.step = $3`, '1'),
      [deliveryId, version, step],
      step,
    );
  }

  /**
   * Chains found by `findSql` (all at `step`) moved to their next step, in one transaction: found
   * and locked, then moved by id (a timer run twice, late, or after an answer moves nobody again).
   */
  private advance(findSql: string, params: unknown[], step: number): Promise<AdvancedDelivery[]> {
    return this.db.transaction(async (m) => {
      const found = await m.query<FoundDue[]>(findSql, params);
      if (!found.length) return [];
      const moved = await rows<Omit<ChainDelivery, WarningColumns>>(m, MOVE_SQL, [
        found.map((f) => f.id),
        step,
      ]);
      const byId = new Map(moved.map((d) => [d.id, d]));
      return found.flatMap((f) => {
        const d = byId.get(f.id);
        return d ? [{ ...d, ...f }] : [];
      });
    });
  }

  /** Chains whose follow-up of the step before `step` has been carried out. */
  async markStepDone(ids: string[], step: number): Promise<void> {
    if (!ids.length) return;
    await this.db.query(
      `UPDATE deliveries SET step_done = step WHERE id = ANY($1::uuid[]) AND step = $2 AND step_done < step`,
      [ids, step],
    );
  }

  /**
   * People whose chain ran out without an answer go on the not-woken list: once each (a follow-up
   * carried out again finds them on it), with an event each.
   */
  async markNotWoken(
    people: {
      deliveryId: string;
      warningId: string;
      personId: string;
      version: number;
      policyId: string;
    }[],
  ): Promise<void> {
    if (!people.length) return;
    const byId = new Map(people.map((p) => [p.deliveryId, p]));
    await this.db.transaction(async (m) => {
      const listed = await rows<{ id: string }>(
        m,
        `UPDATE deliveries SET not_woken_at = now() WHERE id = ANY($1::uuid[]) AND not_woken_at IS NULL RETURNING id`,
        [[...byId.keys()]],
      );
      await this.audit.append(
        listed.map(({ id }) => {
          const p = byId.get(id)!;
          return {
            actor: 'escalation',
            action: 'delivery.not_woken',
            subjectType: 'delivery',
            subjectId: p.deliveryId,
            warningId: p.warningId,
            data: { personId: p.personId, version: p.version, policyId: p.policyId },
          };
        }),
        m,
      );
    });
  }

  /**
   * A superior enters the warning because of `from` (a delivery of their own, marked with whom
   * and why they were brought in), unless they are on it already; either way their delivery,
   * whether it was brought in and by whom, and whether anything of it has started.
   */
  async bringIn(
    from: { id: string; warningId: string },
    target: { id: string; role: string; divisionCode: string; gridCode: string | null },
    version: number,
    reason: EscalationReason,
  ): Promise<{
    id: string;
    escalatedFrom: string | null;
    reason: string | null;
    started: boolean;
  }> {
    await this.db.query(
      `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code, escalated_from, escalation_reason)
       VALUES ($1, $2, $3, 'alert', $4, $5, $6, $7, $8)
       ON CONFLICT (warning_id, person_id) DO NOTHING`,
      [
        from.warningId,
        target.id,
        version,
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
    return existing;
  }

  /**
   * The edge that brings a superior into the chain of `from` (once per from, to and reason), with
   * its event. Returns the edge, whether this call opened it and whether it is open; undefined
   * when a concurrent run is writing the same edge (it carries the escalation out).
   *
   * The edge is written under its subject's row lock (`lockSubject`), so it never races the
   * subject's confirmation: a confirmation committed before it is seen here, and the edge is
   * resolved in this transaction as the confirmation would have resolved it (open: false, nothing
   * to tell the superior); a confirmation recorded meanwhile waits for this transaction and then
   * resolves the edge itself. A silent-grid edge (`group_silent`) is resolved by the confirmation
   * of any responsible person of its grid: it is written under the row locks of all of them
   * (`lockGrid`), and resolved here when one of them has confirmed and the grid now meets its rule.
   */
  async openEdge(
    from: { id: string; warningId: string },
    to: { deliveryId: string; personId: string; newDelivery: boolean },
    reason: EscalationReason,
  ): Promise<{ id: string; fresh: boolean; open: boolean } | undefined> {
    return this.db.transaction(async (m) => {
      const subject =
        reason === 'group_silent'
          ? await this.lockGrid(m, from.id)
          : await this.lockSubject(m, from.id);
      const [found] = await m.query<{ id: string; fresh: boolean; open: boolean }[]>(
        `WITH ins AS (
           INSERT INTO escalations (warning_id, from_delivery_id, to_delivery_id, reason) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING id)
         SELECT id, true AS fresh, true AS open FROM ins
         UNION ALL
         SELECT id, false, resolved_at IS NULL FROM escalations WHERE from_delivery_id = $2 AND to_delivery_id = $3 AND reason = $4`,
        [from.warningId, from.id, to.deliveryId, reason],
      );
      if (!found) return undefined;
      const events: AuditEventInput[] = [];
      if (found.fresh) {
        escalationsCreated().inc({ reason });
        events.push({
          actor: 'escalation',
          action: 'escalation.created',
          subjectType: 'escalation',
          subjectId: String(found.id),
          warningId: from.warningId,
          data: {
            fromDeliveryId: from.id,
            toDeliveryId: to.deliveryId,
            toPersonId: to.personId,
            reason,
            newDelivery: to.newDelivery,
          },
        });
      }
      if (found.open) {
        const resolved = await this.resolveIfConfirmed(m, subject);
        if (resolved.edgeIds.includes(found.id)) found.open = false;
        events.push(...resolved.events);
      }
      await this.audit.append(events, m);
      return found;
    });
  }

  /**
   * The edge from a person not woken to the door-to-door task about them (once per task), under
   * its subject's row lock as `openEdge`: a person who confirmed meanwhile has the edge resolved
   * and the task closed in this transaction, as their confirmation would have.
   */
  async openTaskEdge(from: { id: string; warningId: string }, taskId: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const subject = await this.lockSubject(m, from.id);
      const [edge] = await m.query(
        `INSERT INTO escalations (warning_id, from_delivery_id, task_id, reason, detail)
         SELECT $1, $2, $3, 'not_woken', 'door_to_door' WHERE NOT EXISTS (SELECT 1 FROM escalations WHERE task_id = $3)
         RETURNING id`,
        [from.warningId, from.id, taskId],
      );
      if (!edge) return;
      const resolved = await this.resolveIfConfirmed(m, subject);
      await this.audit.append(
        [
          {
            actor: 'escalation',
            action: 'escalation.created',
            subjectType: 'escalation',
            subjectId: edge.id,
            warningId: from.warningId,
            data: { fromDeliveryId: from.id, taskId, reason: 'not_woken', detail: 'door_to_door' },
          },
          ...resolved.events,
        ],
        m,
      );
    });
  }

  /**
   * The subject's delivery of an edge about to be written: locked, marked (`edge_opened_at`) and
   * read at its newest version, first in the edge's transaction. The lock orders the edge with
   * the subject's confirmation: whichever comes second sees the other. A confirmation that waited
   * for this lock reads the mark from the row it moves (`ChainMoves.answerStep`: `mayResolve`)
   * and resolves the edge by a statement that sees it; one committed before is returned here.
   */
  private async lockSubject(
    m: EntityManager,
    deliveryId: string,
  ): Promise<{ id: string; state: DeliveryState } | undefined> {
    const [subject] = await rows<{ id: string; state: DeliveryState }>(
      m,
      `UPDATE deliveries SET edge_opened_at = now() WHERE id = $1 RETURNING id, state`,
      [deliveryId],
    );
    return subject;
  }

  /**
   * The subjects of a silent-grid edge about to be written from `anchorId`: every responsible
   * person of the anchor's grid on the warning (the anchor too), whose confirmations the edge's
   * resolution counts. Locked in id order (two edges of a grid take them in the same order),
   * marked (`edge_opened_at`) and read at their newest version, first in the edge's transaction,
   * as `lockSubject` does for one person: a confirmation of any of them recorded meanwhile waits
   * for this transaction, reads the mark from the row it moves and resolves the edge itself (after
   * the grid's answers lock, `ChainMoves.answerStep`); one committed before is seen here. Returns
   * a person who has confirmed (the anchor first), whose confirmation's resolution then runs here.
   */
  private async lockGrid(
    m: EntityManager,
    anchorId: string,
  ): Promise<{ id: string; state: DeliveryState } | undefined> {
    const locked = await rows<{ id: string; state: DeliveryState }>(
      m,
      `UPDATE deliveries d SET edge_opened_at = now()
        WHERE d.id IN (
          SELECT g.id FROM deliveries g
           WHERE g.id IN (SELECT $1::uuid
                          UNION ALL
                          SELECT c.id FROM deliveries f
                            JOIN deliveries c ON c.warning_id = f.warning_id AND c.grid_code = f.grid_code AND c.role <> 'resident'
                           WHERE f.id = $1)
           ORDER BY g.id
             FOR NO KEY UPDATE OF g)
       RETURNING d.id, d.state`,
      [anchorId],
    );
    const confirmed = locked.filter((d) => d.state === DELIVERY_MOVES.confirm.to);
    return confirmed.find((d) => d.id === anchorId) ?? confirmed[0];
  }

  /**
   * What the subject's confirmation resolves, resolved now when they had confirmed before the
   * edge was written (read under their row lock, `lockSubject` / `lockGrid`): the same moves and
   * audit events as the answer's (`resolveForSubjectIn`, after the grid's answers lock), in this
   * transaction.
   */
  private async resolveIfConfirmed(
    m: EntityManager,
    subject: { id: string; state: DeliveryState } | undefined,
  ): Promise<{ events: AuditEventInput[]; edgeIds: string[] }> {
    if (subject?.state !== DELIVERY_MOVES.confirm.to) return { events: [], edgeIds: [] };
    await m.query(gridAnswersLockSql('$1'), [subject.id]);
    return resolveForSubjectIn(m, subject.id);
  }

  /**
   * The move that settles a grid's group rule (one, all, or N of M of its responsible persons
   * confirmed) at its timer: the outcome recorded by an earlier run, else counted now and recorded
   * once (first writer wins: ON CONFLICT DO NOTHING), with its audit event in one transaction. Undefined when the grid has no
   * responsible person on the warning under a policy with a group rule.
   */
  async groupRuleOutcome(
    warningId: string,
    version: number,
    gridCode: string,
  ): Promise<GroupRuleOutcome | undefined> {
    const recorded = async () =>
      (
        await this.db.query<GroupRuleOutcome[]>(
          `SELECT required, total, confirmed, met FROM group_rule_outcomes
            WHERE warning_id = $1 AND version = $2 AND grid_code = $3`,
          [warningId, version, gridCode],
        )
      )[0];
    const before = await recorded();
    if (before) return before;
    const members = await this.db.query<
      {
        personId: string;
        confirmed: boolean;
        policyId: string | null;
        ruleSeconds: number | null;
        rank: number | null;
        groupConfirm: GroupConfirm | null;
      }[]
    >(
      `SELECT d.person_id AS "personId", d.state = 'confirmed' AS confirmed, d.policy_id AS "policyId",
              pol.group_rule_seconds AS "ruleSeconds", pol.rank, pol.group_confirm AS "groupConfirm"
         FROM deliveries d JOIN people p ON p.id = d.person_id
         LEFT JOIN escalation_policies pol ON pol.id = d.policy_id
        WHERE d.warning_id = $1 AND d.version = $2 AND d.grid_code = $3 AND d.role <> 'resident'
          AND d.msg_type <> 'cancel'
        ORDER BY p.name COLLATE "C", p.id`,
      [warningId, version, gridCode],
    );
    // The rule of the policy whose group rule is due first (as scheduleGroupRules timed it).
    const ruled = members
      .filter((m) => m.ruleSeconds !== null)
      .sort(
        (a, b) =>
          (a.ruleSeconds as number) - (b.ruleSeconds as number) || (a.rank ?? 0) - (b.rank ?? 0),
      )[0];
    if (!ruled) return undefined;
    const rule = toGroupConfirm(ruled.groupConfirm);
    const outcome = evaluateGroupRule(
      rule,
      members.length,
      members.filter((m) => m.confirmed).length,
    );
    const unconfirmed = members.filter((m) => !m.confirmed).map((m) => m.personId);
    const inserted = await this.db.transaction(async (m) => {
      const [row] = await m.query<{ warningId: string }[]>(
        `INSERT INTO group_rule_outcomes (warning_id, version, grid_code, policy_id, rule, required, total, confirmed, met, unconfirmed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT DO NOTHING RETURNING warning_id AS "warningId"`,
        [
          warningId,
          version,
          gridCode,
          ruled.policyId,
          JSON.stringify(rule),
          outcome.required,
          outcome.total,
          outcome.confirmed,
          outcome.met,
          unconfirmed,
        ],
      );
      if (!row) return false;
      await this.audit.append(
        [
          {
            actor: 'escalation',
            action: 'group_rule.evaluated',
            subjectType: 'grid',
            subjectId: gridCode,
            warningId,
            data: { version, policyId: ruled.policyId, rule, ...outcome, unconfirmed },
          },
        ],
        m,
      );
      return true;
    });
    // A concurrent run recorded it first: its outcome is the one acted on.
    return inserted ? outcome : recorded();
  }
}
