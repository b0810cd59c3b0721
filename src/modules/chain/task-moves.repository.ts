import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { inTransaction, rows } from '../../database/sql';
import { AuditService, type AuditEventInput } from '../audit/audit.service';
import { attemptFrom, sqlList, taskFrom } from './chain-states';

/**
 * SQL: the open tasks about the subject delivery `subject` closed because the person answered by
 * themselves, guarded by the task table. Returns `id`, `warningId`.
 */
export const closeForSubjectSql = (subject: string) =>
  `UPDATE manual_tasks SET status = 'cancelled', outcome = 'subject_answered', completed_at = now()
    WHERE subject_delivery_id = ${subject} AND status IN ${sqlList(taskFrom('closeForSubject'))} RETURNING id, warning_id AS "warningId"`;

/** SQL (a boolean): whether a task about the delivery `s` is open, as far as the statement sees. */
export const HAS_OPEN_TASK = (s: string) =>
  `EXISTS (SELECT 1 FROM manual_tasks t WHERE t.subject_delivery_id = ${s}.id AND t.status IN ${sqlList(taskFrom('closeForSubject'))})`;

/** The audit events of tasks closed by their subject's answer. */
export function taskClosedEvents(
  closed: { id: string; warningId: string }[],
  deliveryId: string,
): AuditEventInput[] {
  return closed.map((t) => ({
    actor: 'escalation',
    action: 'task.cancelled',
    subjectType: 'task',
    subjectId: t.id,
    warningId: t.warningId,
    data: { reason: 'subject_answered', subjectDeliveryId: deliveryId },
  }));
}

/**
 * The moves of a door-to-door (or gong-and-whistle) task in a chain: completed by its assignee
 * (with its task SMS), or closed because the person it was about answered by themselves. Each is
 * one guarded statement (only an open task moves) with its audit event in the same transaction,
 * so a completion or an answer given twice moves nothing twice. The tasks service decides who
 * gets a task and what a completion means for the visited person.
 */
@Injectable()
export class TaskMoves {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * A task opened: the task, the assignee's delivery on the warning (the member is now part of the
   * chain; their delivery carries the task's SMS), the task SMS numbered after the delivery's
   * other attempts, and its event, in one transaction. Returns the task and its SMS attempt.
   */
  async open(t: {
    warningId: string;
    version: number;
    type: string;
    grid: string;
    reason: string | null;
    subjectDeliveryId: string | null;
    assignee: { id: string; role: string; division_code: string; mobile: string };
    priority: number;
    createdBy: string;
  }): Promise<{
    task: {
      id: string;
      number: number;
      type: string;
      grid: string;
      status: string;
      createdAt: Date;
    };
    attempt: { id: string };
  }> {
    return this.db.transaction(async (m) => {
      const [task] = await m.query(
        `INSERT INTO manual_tasks (warning_id, type, grid_code, assignee_id, subject_delivery_id, reason, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, number, type, grid_code AS "grid", status, created_at AS "createdAt"`,
        [t.warningId, t.type, t.grid, t.assignee.id, t.subjectDeliveryId, t.reason, t.createdBy],
      );
      // The member is now part of the chain: their own delivery carries the task's SMS.
      const [delivery] = await rows<{ id: string }>(
        m,
        `INSERT INTO deliveries (warning_id, person_id, version, msg_type, role, division_code, grid_code)
         VALUES ($1, $2, $3, 'alert', $4, $5, $6)
         ON CONFLICT (warning_id, person_id) DO UPDATE SET version = deliveries.version RETURNING id`,
        [t.warningId, t.assignee.id, t.version, t.assignee.role, t.assignee.division_code, t.grid],
      );
      // Numbered after the delivery's other attempts. A step or a notice of the same person may
      // take that number first (committed while this statement waited on it): then the next one.
      let attempt: { id: string } | undefined;
      for (let tries = 0; !attempt; tries++) {
        if (tries === 5) throw new Error('could not number the task attempt after 5 tries');
        [attempt] = await m.query(
          `INSERT INTO contact_attempts (delivery_id, warning_id, version, msg_type, seq, channel, contact_kind, address, priority, task_id, purpose)
           SELECT $1, $2, $3, 'alert', coalesce(max(seq), -1) + 1, 'manual', 'mobile', $4, $5, $6, 'task'
             FROM contact_attempts WHERE delivery_id = $1
           ON CONFLICT (delivery_id, version, msg_type, purpose, seq) DO NOTHING
           RETURNING id`,
          [delivery.id, t.warningId, t.version, t.assignee.mobile, t.priority, task.id],
        );
      }
      // The reason is free text: the log keeps ids and codes.
      await this.audit.append(
        [
          {
            actor: t.createdBy,
            action: 'task.created',
            subjectType: 'task',
            subjectId: task.id,
            warningId: t.warningId,
            data: {
              type: t.type,
              grid: t.grid,
              assigneeId: t.assignee.id,
              subjectDeliveryId: t.subjectDeliveryId,
              attemptId: attempt.id,
            },
          },
        ],
        m,
      );
      return { task, attempt };
    });
  }

  /**
   * The person a task was about answered by themselves: their open tasks are closed (a task SMS
   * still queued is then not sent), each with its event. Returns how many were closed.
   */
  async closeForSubject(
    deliveryId: string,
    /** The caller's transaction (the subject's answer), else one of its own. */
    tx?: EntityManager,
  ): Promise<number> {
    return inTransaction(this.db, tx, async (m) => {
      const closed = await rows<{ id: string; warningId: string }>(m, closeForSubjectSql('$1'), [
        deliveryId,
      ]);
      await this.audit.append(taskClosedEvents(closed, deliveryId), m);
      return closed.length;
    });
  }

  /** An open task completed (once), with its task SMS and its event; false when it was not open. */
  async complete(
    task: { id: string; warning_id: string; subject_delivery_id: string | null },
    c: { outcome: string; note: string | null; completedBy: string | null; actor: string },
  ): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const [row] = await rows(
        m,
        `UPDATE manual_tasks SET status = 'done', outcome = $2, note = $3, completed_at = now(), completed_by = $4
          WHERE id = $1 AND status IN ${sqlList(taskFrom('complete'))} RETURNING id`,
        [task.id, c.outcome, c.note, c.completedBy],
      );
      if (!row) return false;
      await m.query(
        // Its task SMS ends with it, by the attempt table: completed if it went out, cancelled if
        // it was still waiting; one that failed (or ended otherwise) stays as it is.
        `UPDATE contact_attempts
            SET status = CASE WHEN status IN ${sqlList(attemptFrom('complete'))} THEN 'completed' ELSE 'cancelled' END,
                outcome = $2, completed_at = CASE WHEN status IN ${sqlList(attemptFrom('complete'))} THEN now() END
          WHERE task_id = $1 AND status IN ${sqlList([...new Set([...attemptFrom('complete'), ...attemptFrom('cancel')])])}`,
        [task.id, c.outcome],
      );
      await this.audit.append(
        [
          {
            actor: c.actor,
            action: 'task.completed',
            subjectType: 'task',
            subjectId: task.id,
            warningId: task.warning_id,
            data: { outcome: c.outcome, subjectDeliveryId: task.subject_delivery_id },
          },
        ],
        m,
      );
      return true;
    });
  }
}
