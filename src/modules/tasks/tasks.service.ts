import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { jobPriority } from '../../common/queue/queue-names';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { ANSWERS_DB } from '../../database/data-source';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../../common/auth/auth.decorators';
import { assertWithinJurisdiction } from '../auth/jurisdiction';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import { NoticesRepository } from '../chain/notices.repository';
import { TaskMoves } from '../chain/task-moves.repository';
import { WarningsService } from '../warnings/warnings.service';
import type { CompleteTaskDto, CreateTaskDto } from './tasks.dto';
import type { WarningStatus } from '../../common/domain/warning.types';

import type { OnSiteAnswer } from '../chain/answers.types';

/** What a task's note says once its grid member asked for support by SMS. */
export const TASK_HELP_NOTE = '网格员请求支援（短信回复2）';

const ASSIGNEE_ROLES = ['grid_member', 'grid_leader', 'group_monitor'];

/**
 * Manual means (domain.md, "Channels"): door-to-door (敲门入户) and gong-and-whistle (鸣锣吹哨)
 * tasks, assigned to a member of the grid, sent to them by SMS, completed through the API, and
 * recorded like any other attempt (a `manual` contact attempt on the member's own delivery).
 */
/**
 * A `test` warning checks the roster: it reaches responsible persons only, never residents, so
 * nobody is sent door to door or to sound the gong (whose SMS tells them to have residents
 * evacuate).
 */
function testWarningHasNoTasks(): AppException {
  return new AppException(
    ErrorCode.Conflict,
    '测试预警不派发入户或鸣锣任务（测试预警不通知群众）',
    'A test warning assigns no door-to-door or gong-and-whistle task (it never reaches residents)',
  );
}

@Injectable()
export class TasksService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    /** The answers pool: what an SMS reply reads on its way in (see ANSWERS_DB). */
    @InjectDataSource(ANSWERS_DB) private readonly answersDb: DataSource,
    private readonly warnings: WarningsService,
    private readonly queue: DispatchQueue,
    private readonly audit: AuditService,
    private readonly notices: NoticesRepository,
    private readonly taskMoves: TaskMoves,
  ) {}

  /** The open tasks whose SMS went to this number, on active warnings, the most recent first. */
  async openTasksSentTo(address: string): Promise<
    {
      taskId: string;
      number: number;
      deliveryId: string;
      attemptId: string;
      title: string;
      sentAt: Date | null;
      status: WarningStatus;
    }[]
  > {
    return this.answersDb.query(
      `SELECT t.id AS "taskId", t.number, a.delivery_id AS "deliveryId", a.id AS "attemptId", a.sent_at AS "sentAt", w.status,
              CASE t.type WHEN 'door_to_door' THEN '敲门入户任务' ELSE '鸣锣吹哨任务' END AS title
         FROM contact_attempts a JOIN manual_tasks t ON t.id = a.task_id AND t.status = 'open'
         JOIN warnings w ON w.id = a.warning_id AND w.state = 'active'
        WHERE a.purpose = 'task' AND a.address = $1 AND a.sent_at IS NOT NULL
        ORDER BY a.sent_at DESC LIMIT 20`,
      [address],
    );
  }

  async create(principal: Principal, warningId: string, dto: CreateTaskDto) {
    const warning = await this.warnings.findVisible(principal, warningId);
    if (warning.state !== 'active') {
      throw new AppException(
        ErrorCode.Conflict,
        '预警已结束，不能再派发任务',
        `Warning is ${warning.state}`,
      );
    }
    const [grid] = await this.db.query(`SELECT code, village_code FROM grids WHERE code = $1`, [
      dto.grid,
    ]);
    if (!grid)
      throw AppException.validation([{ field: 'grid', message: `unknown grid ${dto.grid}` }]);
    if (principal.role === 'duty_officer')
      assertWithinJurisdiction(principal, [grid.village_code], 'grid');
    return this.assign(warningId, dto, principal.tokenId);
  }

  /**
   * Assigns a task without the caller checks (escalation assigns them itself). Null when the grid
   * has nobody with a mobile phone to give it to.
   */
  async assign(warningId: string, dto: CreateTaskDto, createdBy: string) {
    const [warning] = await this.db.query(
      `SELECT w.kind, w.status, w.current_version AS "currentVersion", v.level FROM warnings w
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version WHERE w.id = $1`,
      [warningId],
    );
    if (warning?.status === 'test') throw testWarningHasNoTasks();
    let subjectDelivery: string | null = null;
    if (dto.personId) {
      const [d] = await this.db.query(
        `SELECT id FROM deliveries WHERE warning_id = $1 AND person_id = $2`,
        [warningId, dto.personId],
      );
      if (!d)
        throw AppException.validation([
          { field: 'personId', message: 'this person is not a recipient of the warning' },
        ]);
      subjectDelivery = d.id;
    }
    // Who does it: a member of the grid who confirmed this warning first, then one it has not
    // asked anything yet; otherwise the next level up (the village's responsible persons); a
    // grid member whose own chain is still running only as a last resort. Never the person the
    // task is about, nor anyone who asked for help, was not woken or cannot be reached.
    const [assignee] = await this.db.query(
      `SELECT p.id, p.role, p.division_code, c.value AS mobile FROM people p
         JOIN grids g ON g.code = $1
         JOIN LATERAL (SELECT value FROM contact_points WHERE person_id = p.id AND kind IN ('mobile', 'satellite')
                        ORDER BY priority LIMIT 1) c ON true
         LEFT JOIN deliveries d ON d.warning_id = $4 AND d.person_id = p.id
        WHERE ((p.grid_code = $1 AND p.role = ANY($2)) OR (p.role = 'village_responsible' AND p.division_code = g.village_code))
          AND p.id IS DISTINCT FROM $3::uuid
          AND (d.id IS NULL OR (d.state NOT IN ('declined', 'unreachable') AND d.help_requested_at IS NULL
                                AND (d.state = 'confirmed' OR d.not_woken_at IS NULL)))
        ORDER BY CASE WHEN p.grid_code = $1 AND d.state = 'confirmed' THEN 0
                      WHEN p.grid_code = $1 AND d.id IS NULL THEN 1
                      WHEN p.role = 'village_responsible' AND d.state = 'confirmed' THEN 2
                      WHEN p.role = 'village_responsible' THEN 3
                      ELSE 4 END,
                 array_position($2, p.role), p.name
        LIMIT 1`,
      [dto.grid, ASSIGNEE_ROLES, dto.personId ?? null, warningId],
    );
    if (!assignee) {
      throw AppException.validation([
        {
          field: 'grid',
          message:
            'neither the grid nor its village has a responsible person with a mobile phone who can take the task',
        },
      ]);
    }
    const [level] = await this.db.query(
      `SELECT level FROM warning_versions WHERE warning_id = $1 AND version = $2`,
      [warningId, warning.currentVersion],
    );
    const priority = jobPriority(warning.kind, level.level);

    const { task, attempt } = await this.taskMoves.open({
      warningId,
      version: warning.currentVersion,
      type: dto.type,
      grid: dto.grid,
      reason: dto.reason ?? null,
      subjectDeliveryId: subjectDelivery,
      assignee,
      priority,
      createdBy,
    });
    await this.queue.enqueueAttempts([{ id: attempt.id, channel: 'manual', priority }]);
    return { ...task, assigneeId: assignee.id, attemptId: attempt.id };
  }

  /**
   * A grid member's explicit "done" (`1 <number>`, or `1` with one open task) to their task's
   * SMS, as the SMS asks: the task is done, and the person it was about is confirmed on site.
   * False when the task is no longer open.
   */
  async completeByReply(
    taskId: string,
    raw: string,
  ): Promise<{ closed: boolean; onSite?: OnSiteAnswer }> {
    const [task] = await this.db.query(
      `SELECT id, warning_id, grid_code, status, subject_delivery_id FROM manual_tasks WHERE id = $1`,
      [taskId],
    );
    if (!task || task.status !== 'open') return { closed: false };
    return this.finish(task, {
      outcome: 'confirmed_on_site',
      note: `短信回复 SMS reply: ${raw}`.slice(0, 200),
      completedBy: null,
      actor: 'provider:sms',
    });
  }

  /**
   * A grid member's SMS reply "support" (2) to their task's SMS: the task stays open and says so
   * in its note (the task list shows it); the member's own help request alerts their supervisor
   * and the duty office. Once per task.
   */
  async helpRequestedByReply(taskId: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const [task] = await rows<{ id: string; warningId: string }>(
        m,
        `UPDATE manual_tasks SET note = concat_ws('；', note, $2::text)
          WHERE id = $1 AND status = 'open' AND (note IS NULL OR strpos(note, $2) = 0)
          RETURNING id, warning_id AS "warningId"`,
        [taskId, TASK_HELP_NOTE],
      );
      if (!task) return;
      await this.audit.append(
        [
          {
            actor: 'provider:sms',
            action: 'task.help_requested',
            subjectType: 'task',
            subjectId: task.id,
            warningId: task.warningId,
          },
        ],
        m,
      );
    });
  }

  /**
   * Closes an open task (once: a second completion changes nothing) with its attempt and audit
   * event, then records the visited person's on-site answer when they were confirmed.
   */
  private async finish(
    task: { id: string; warning_id: string; subject_delivery_id: string | null },
    c: { outcome: string; note: string | null; completedBy: string | null; actor: string },
  ): Promise<{ closed: boolean; onSite?: OnSiteAnswer }> {
    const closed = await this.taskMoves.complete(task, c);
    // What the task was escalated for is resolved: notices about it still waiting are stopped.
    if (closed) await this.notices.resolve({ taskId: task.id });
    // Confirmed on site: the visited person's answer, which the caller records like any other
    // answer (it stops their chain). Given again on a repeat: recording it is idempotent.
    const onSite =
      task.subject_delivery_id && (c.outcome === 'confirmed_on_site' || c.outcome === 'evacuated')
        ? {
            deliveryId: task.subject_delivery_id,
            recordedBy: c.completedBy ?? undefined,
            reason: c.note ?? c.outcome,
            raw: c.outcome,
            dedupeKey: `task:${task.id}`,
          }
        : undefined;
    return { closed, onSite };
  }

  /** Open and recent tasks: a grid member sees their own grid only. */
  async list(principal: Principal, filter: { warningId?: string; status?: string } = {}) {
    return this.db.query(
      `SELECT t.id, t.number, t.warning_id AS "warningId", t.type, t.grid_code AS grid, t.status, t.reason, t.outcome, t.note,
              t.created_at AS "createdAt", t.completed_at AS "completedAt", a.name AS assignee, s.name AS "subject"
         FROM manual_tasks t
         LEFT JOIN people a ON a.id = t.assignee_id
         LEFT JOIN deliveries sd ON sd.id = t.subject_delivery_id LEFT JOIN people s ON s.id = sd.person_id
        WHERE ($1::text IS NULL OR t.grid_code = $1) AND ($2::text IS NULL OR starts_with(t.grid_code, $2))
          AND ($3::uuid IS NULL OR t.warning_id = $3) AND ($4::text IS NULL OR t.status = $4)
        ORDER BY t.status = 'open' DESC, t.created_at DESC LIMIT 500`,
      [
        principal.role === 'grid_member' ? principal.gridCode : null,
        principal.role === 'duty_officer' ? principal.jurisdiction : null,
        filter.warningId ?? null,
        filter.status ?? null,
      ],
    );
  }

  async complete(principal: Principal, taskId: string, dto: CompleteTaskDto) {
    const [task] = await this.db.query(
      `SELECT id, warning_id, grid_code, status, subject_delivery_id FROM manual_tasks WHERE id = $1`,
      [taskId],
    );
    if (!task) throw AppException.notFound('任务 task', taskId);
    if (principal.role === 'grid_member' && principal.gridCode !== task.grid_code) {
      throw new AppException(
        ErrorCode.Forbidden,
        '只能完成本网格的任务',
        'Grid members complete only their own grid’s tasks',
      );
    }
    if (principal.role === 'duty_officer')
      assertWithinJurisdiction(principal, [task.grid_code], 'id');
    if (task.status !== 'open') {
      throw new AppException(ErrorCode.Conflict, '任务已结束', `Task is already ${task.status}`);
    }
    const { onSite } = await this.finish(task, {
      outcome: dto.outcome,
      note: dto.note ?? null,
      completedBy: principal.tokenId,
      actor: principal.tokenId,
    });
    return { onSite };
  }

  async findDone(taskId: string) {
    const [done] = await this.db.query(
      `SELECT id, status, outcome, note, completed_at AS "completedAt" FROM manual_tasks WHERE id = $1`,
      [taskId],
    );
    return done;
  }
}
