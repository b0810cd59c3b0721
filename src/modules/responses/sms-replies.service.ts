import { Inject, Injectable, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import { DataSource } from 'typeorm';
import type { EnvironmentVariables } from '../../config/env.validation';
import { renderSmsReply, type SmsReplyContext, type SmsReplyKind } from '../../templates/replies';
import type { WarningStatus } from '../../common/domain/warning.types';
import {
  HAZARD_REPORT_SMS,
  type HazardReportSmsHandler,
  isHazardReportSms,
} from '../hazard-reports/hazard-report-sms';
import { TasksService } from '../tasks/tasks.service';
import { type AnswerKind, AnswersService, closedFor } from '../chain/answers.service';
import { parseSmsReply, parseTaskReply, type TaskReply } from './sms-reply.parser';

/**
 * Clarifying SMS per delivery: beyond this, an ambiguous reply (an auto-responder, say) gets a
 * plain acknowledgement without "回复…", so that no exchange can go on forever.
 */
const MAX_CLARIFICATIONS = 3;
/** A task's name in the SMS answered back. */
const TASK_TITLE = `CASE t.type WHEN 'door_to_door' THEN '敲门入户任务' ELSE '鸣锣吹哨任务' END`;

export interface SmsReplyOutcome {
  kind: AnswerKind;
  /** The delivery the reply was matched to; undefined for an unknown number or no open warning. */
  deliveryId?: string;
  recorded: boolean;
  effective: boolean;
  /** The SMS answered back (TwiML `<Message>`). */
  reply: string;
}

/**
 * SMS replies to warnings (叫应 by SMS): parsed, matched to the sender's open delivery, recorded
 * as an answer once per MessageSid, and answered with a short SMS.
 */
@Injectable()
export class SmsRepliesService {
  private readonly signature: string;

  constructor(
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly answers: AnswersService,
    private readonly tasks: TasksService,
    @Inject(ConfigService) config: ConfigService<EnvironmentVariables, true>,
    @Optional()
    @Inject(HAZARD_REPORT_SMS)
    private readonly hazardReports?: HazardReportSmsHandler,
  ) {
    this.signature = (config.get('SMS_SIGNATURE' as never) as string | undefined) ?? '应急预警';
  }

  /**
   * `receivedAt`: set only for a reply replayed from the inbound spool (received while Postgres
   * was unreachable): the time of the answer it records.
   */
  async handle(e: {
    messageSid: string;
    from: string;
    body: string;
    receivedAt?: Date;
  }): Promise<SmsReplyOutcome> {
    // 险情…: about a hazard report (src/modules/hazard-reports), before any other matching.
    if (this.hazardReports && isHazardReportSms(e.body)) {
      const r = await this.hazardReports.handleSms(e);
      return {
        kind: r.acknowledged ? 'confirm' : 'ambiguous',
        recorded: r.acknowledged,
        effective: r.acknowledged,
        reply: r.reply,
      };
    }
    const dedupeKey = `sms:${e.messageSid}`;
    // A webhook retried after the first one changed the state: answer it the same way.
    const [seen] = await this.db.query(
      `SELECT a.delivery_id AS "deliveryId", a.kind, a.about, v.content->>'headline' AS headline, w.status,
              a.attempt_id AS "attemptId", at.sent_at AS "sentAt", t.id AS "taskId", t.number, ${TASK_TITLE} AS "title"
         FROM answers a JOIN deliveries d ON d.id = a.delivery_id JOIN warnings w ON w.id = d.warning_id
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
         LEFT JOIN contact_attempts at ON at.id = a.attempt_id LEFT JOIN manual_tasks t ON t.id = at.task_id
        WHERE a.dedupe_key = $1`,
      [dedupeKey],
    );
    const at = e.receivedAt;
    if (seen?.taskId) return this.taskReply([seen], parseTaskReply(e.body), e.body, dedupeKey, at);
    if (seen?.about === 'notice')
      return this.noticeReply(seen, seen.kind as AnswerKind, e.body, dedupeKey, at);
    const kind = seen ? (seen.kind as AnswerKind) : parseSmsReply(e.body);
    const tasks = seen ? [] : await this.tasks.openTasksSentTo(e.from);
    const task = parseTaskReply(e.body);
    // A reply naming a task's number answers that task, whatever came after it.
    const named =
      task.number !== undefined ? tasks.find((t) => t.number === task.number) : undefined;
    if (named) return this.taskReply([named], task, e.body, dedupeKey, at);
    // Otherwise it answers the last message that asked for one: a task, a notice, or the alert.
    const notice = seen ? undefined : await this.openNotice(e.from);
    const open = seen ?? (await this.openDelivery(e.from, kind));
    const sent = (x?: { sentAt: Date | null }) => (x?.sentAt ? new Date(x.sentAt).getTime() : -1);
    const latest = Math.max(sent(tasks[0]), sent(notice), open ? Math.max(sent(open), 0) : -1);
    if (tasks.length && sent(tasks[0]) === latest)
      return this.taskReply(tasks, task, e.body, dedupeKey, at);
    if (notice && sent(notice) === latest)
      return this.noticeReply(notice, kind, e.body, dedupeKey, at);
    if (!open) {
      return {
        kind,
        recorded: false,
        effective: false,
        reply: this.reply('nothing_open'),
      };
    }
    const result = await this.answers.record({
      deliveryId: open.deliveryId,
      kind,
      channel: 'sms',
      attemptId: open.attemptId ?? null,
      raw: e.body,
      dedupeKey,
      receivedAt: at,
    });
    return {
      kind,
      deliveryId: open.deliveryId,
      recorded: result.recorded,
      effective: result.effective,
      reply: await this.replyFor(kind, open.deliveryId, {
        headline: open.headline ?? '',
        status: open.status,
      }),
    };
  }

  /**
   * A reply to a notice (a message to a superior about someone else): it acknowledges what the
   * notice reported; it is not the superior's answer to their own alert.
   */
  private async noticeReply(
    notice: { attemptId: string; deliveryId: string; status?: WarningStatus },
    kind: AnswerKind,
    body: string,
    dedupeKey: string,
    receivedAt?: Date,
  ): Promise<SmsReplyOutcome> {
    const r = await this.answers.answerNotice({
      attemptId: notice.attemptId,
      kind,
      channel: 'sms',
      raw: body,
      dedupeKey,
      receivedAt,
    });
    const reply =
      kind === 'confirm' ? 'notice_acknowledged' : kind === 'help' ? 'help' : 'notice_clarify';
    return {
      kind,
      deliveryId: notice.deliveryId,
      recorded: r.recorded,
      effective: r.acknowledged > 0,
      reply: this.reply(reply, { status: notice.status }),
    };
  }

  /**
   * A reply to a door-to-door or gong-and-whistle task's SMS ("完成后回复“1 23”确认，需要支援回复
   * “2 23”"): recorded as the grid member's own answer. Only an explicit completion completes a
   * task (the person it is about is then confirmed on site); with several open tasks the reply
   * must name one. `收到` acknowledges the task, which stays open; 2 asks for support.
   */
  private async taskReply(
    open: {
      taskId: string;
      number: number;
      deliveryId: string;
      attemptId: string;
      title: string;
      status?: WarningStatus;
    }[],
    reply: TaskReply,
    body: string,
    dedupeKey: string,
    receivedAt?: Date,
  ): Promise<SmsReplyOutcome> {
    const [task] = open;
    const kind: AnswerKind =
      reply.action === 'help' ? 'help' : reply.action === 'unclear' ? 'ambiguous' : 'confirm';
    const result = await this.answers.record({
      deliveryId: task.deliveryId,
      kind,
      channel: 'sms',
      attemptId: task.attemptId,
      raw: body,
      dedupeKey,
      receivedAt,
    });
    const context = {
      status: task.status,
      task: { title: task.title, number: task.number },
      openTasks: open.map((t) => t.number),
    };
    const out = (text: SmsReplyKind): SmsReplyOutcome => ({
      kind,
      deliveryId: task.deliveryId,
      recorded: result.recorded,
      effective: result.effective,
      reply: this.reply(text, context),
    });
    if (open.length > 1 && reply.number === undefined && reply.action !== 'ack') {
      return out('task_which');
    }
    if (reply.action === 'complete') {
      // A webhook retried (the same message, already recorded) is answered as the first time.
      const completed = await this.tasks.completeByReply(task.taskId, body);
      if (completed.onSite) await this.answers.recordOnSite(completed.onSite);
      const done = completed.closed || !result.recorded;
      return out(done ? 'task_done' : 'task_closed');
    }
    if (reply.action === 'help') {
      await this.tasks.helpRequestedByReply(task.taskId);
      return out('help');
    }
    return out(reply.action === 'ack' ? 'task_acknowledged' : 'task_clarify');
  }

  /** The most recent notice SMS to this number, on an active warning, with something unacknowledged. */
  private async openNotice(
    from: string,
  ): Promise<
    | { attemptId: string; deliveryId: string; sentAt: Date | null; status: WarningStatus }
    | undefined
  > {
    const [row] = await this.db.query(
      `SELECT a.id AS "attemptId", a.delivery_id AS "deliveryId", a.sent_at AS "sentAt", w.status
         FROM contact_attempts a JOIN warnings w ON w.id = a.warning_id AND w.state = 'active'
        WHERE a.purpose = 'notice' AND a.channel = 'sms' AND a.address = $1 AND a.sent_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM escalations e WHERE e.id = ANY(a.covers) AND e.acknowledged_at IS NULL)
        ORDER BY a.sent_at DESC LIMIT 1`,
      [from],
    );
    return row;
  }

  /**
   * The sender's open delivery: people whose mobile or satellite number is the sender's, their
   * deliveries not answered or closed, on active warnings, that sent this number something; the
   * most recent warning first, then the delivery whose SMS went to this number last (the message
   * being replied to).
   */
  private async openDelivery(
    from: string,
    kind: AnswerKind,
  ): Promise<
    | {
        deliveryId: string;
        attemptId: string | null;
        headline: string;
        sentAt: Date | null;
        status: WarningStatus;
      }
    | undefined
  > {
    const [row] = await this.db.query(
      `SELECT d.id AS "deliveryId", s.id AS "attemptId", v.content->>'headline' AS headline, s.sent_at AS "sentAt", w.status
         FROM contact_points c
         JOIN deliveries d ON d.person_id = c.person_id AND d.state <> ALL($2::text[])
              -- Help is flagged once: a confirmed person who asked already has nothing open for it.
              AND NOT ($3::text = 'help' AND d.help_requested_at IS NOT NULL)
         JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
         LEFT JOIN LATERAL (
           SELECT a.id, a.sent_at FROM contact_attempts a
            WHERE a.delivery_id = d.id AND a.channel = 'sms' AND a.purpose = 'warning' AND a.address = c.value
            ORDER BY a.sent_at DESC NULLS LAST, a.seq DESC LIMIT 1) s ON true
        WHERE c.value = $1 AND c.kind IN ('mobile', 'satellite')
          -- Only a warning whose message went to this number (handed to the provider at least):
          -- a reply to an older warning is not an answer to one still queued for this person. One
          -- the carrier later called undelivered counts too: a reply from the number shows it came.
          AND EXISTS (SELECT 1 FROM contact_attempts x
                       WHERE x.delivery_id = d.id AND x.address = c.value AND x.purpose = 'warning'
                         AND (x.status IN ('sending', 'sent', 'delivered', 'completed') OR x.sent_at IS NOT NULL))
        ORDER BY w.created_at DESC, s.sent_at DESC NULLS LAST, d.created_at DESC
        LIMIT 1`,
      // A request for help also reaches a warning already confirmed: it is a new emergency.
      [from, closedFor(kind), kind],
    );
    return row;
  }

  private async replyFor(
    kind: AnswerKind,
    deliveryId: string,
    c: { headline: string; status?: WarningStatus },
  ): Promise<string> {
    if (kind === 'confirm') return this.reply('confirmed', c);
    if (kind === 'help') return this.reply('help', c);
    const [{ n }] = await this.db.query(
      `SELECT count(*)::int AS n FROM answers WHERE delivery_id = $1 AND kind = 'ambiguous'`,
      [deliveryId],
    );
    return this.reply(n > MAX_CLARIFICATIONS ? 'received' : 'clarify', c);
  }

  /** The SMS answered back, from the templates (src/templates/replies.ts). */
  private reply(kind: SmsReplyKind, c: Omit<SmsReplyContext, 'signature'> = {}): string {
    return renderSmsReply(kind, { ...c, signature: this.signature });
  }
}
