import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EnvironmentVariables } from '../../config/env.validation';
import { cut } from '../../templates/format';
import { TasksService } from '../tasks/tasks.service';
import { type AnswerKind, AnswersService, closedFor } from './answers.service';
import { parseSmsReply } from './sms-reply.parser';

/** Headline length in a clarifying SMS (the whole reply stays within one 70-character segment). */
const HEADLINE_MAX = 16;
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
    @InjectDataSource() private readonly db: DataSource,
    private readonly answers: AnswersService,
    private readonly tasks: TasksService,
    @Inject(ConfigService) config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.signature = (config.get('SMS_SIGNATURE' as never) as string | undefined) ?? '应急预警';
  }

  async handle(e: { messageSid: string; from: string; body: string }): Promise<SmsReplyOutcome> {
    const dedupeKey = `sms:${e.messageSid}`;
    // A webhook retried after the first one changed the state: answer it the same way.
    const [seen] = await this.db.query(
      `SELECT a.delivery_id AS "deliveryId", a.kind, v.content->>'headline' AS headline,
              t.id AS "taskId", a.attempt_id AS "attemptId", ${TASK_TITLE} AS "taskTitle"
         FROM answers a JOIN deliveries d ON d.id = a.delivery_id JOIN warnings w ON w.id = d.warning_id
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
         LEFT JOIN contact_attempts at ON at.id = a.attempt_id LEFT JOIN manual_tasks t ON t.id = at.task_id
        WHERE a.dedupe_key = $1`,
      [dedupeKey],
    );
    const kind = seen ? (seen.kind as AnswerKind) : parseSmsReply(e.body);
    if (seen?.taskId) {
      const { taskId, deliveryId, attemptId, taskTitle: title } = seen;
      return this.taskReply({ taskId, deliveryId, attemptId, title }, kind, e.body, dedupeKey);
    }
    // The reply answers the last message that asked for one: a task's SMS or a warning's.
    const task = seen ? undefined : await this.openTask(e.from);
    const open = seen ?? (await this.openDelivery(e.from, kind));
    if (task && (!open || (task.sentAt ?? 0) >= (open.sentAt ?? 0))) {
      return this.taskReply(task, kind, e.body, dedupeKey);
    }
    if (!open) {
      return {
        kind,
        recorded: false,
        effective: false,
        reply: this.sms('您好，已收到您的短信。目前没有需要您确认的预警，谢谢。'),
      };
    }
    const result = await this.answers.record({
      deliveryId: open.deliveryId,
      kind,
      channel: 'sms',
      attemptId: open.attemptId ?? null,
      raw: e.body,
      dedupeKey,
    });
    return {
      kind,
      deliveryId: open.deliveryId,
      recorded: result.recorded,
      effective: result.effective,
      reply: await this.replyFor(kind, open.deliveryId, open.headline ?? ''),
    };
  }

  /**
   * A reply to a door-to-door or gong-and-whistle task's SMS ("完成后回复1确认，需要支援回复2"):
   * recorded as the grid member's own answer; 1 completes the task (the person it is about is
   * confirmed on site), 2 asks for support (their supervisor and the duty office are alerted).
   */
  private async taskReply(
    task: { taskId: string; deliveryId: string; attemptId: string; title: string },
    kind: AnswerKind,
    body: string,
    dedupeKey: string,
  ): Promise<SmsReplyOutcome> {
    const result = await this.answers.record({
      deliveryId: task.deliveryId,
      kind,
      channel: 'sms',
      attemptId: task.attemptId,
      raw: body,
      dedupeKey,
    });
    if (kind === 'confirm') {
      await this.tasks.completeByReply(task.taskId, body);
      return {
        kind,
        deliveryId: task.deliveryId,
        recorded: result.recorded,
        effective: result.effective,
        reply: this.sms(`已记录“${task.title}”完成，谢谢！请注意自身安全。`),
      };
    }
    if (kind === 'help') await this.tasks.helpRequestedByReply(task.taskId);
    return {
      kind,
      deliveryId: task.deliveryId,
      recorded: result.recorded,
      effective: result.effective,
      reply:
        kind === 'help'
          ? this.sms('已收到您的支援请求，值班人员将尽快与您联系，请保持电话畅通，注意安全。')
          : this.sms(`未能识别您的回复。关于“${task.title}”：完成后回复1，需要支援回复2。`),
    };
  }

  /** The sender's most recent open task whose SMS went to this number, on an active warning. */
  private async openTask(
    from: string,
  ): Promise<
    | { taskId: string; deliveryId: string; attemptId: string; title: string; sentAt: Date | null }
    | undefined
  > {
    const [row] = await this.db.query(
      `SELECT t.id AS "taskId", a.delivery_id AS "deliveryId", a.id AS "attemptId", a.sent_at AS "sentAt",
              ${TASK_TITLE} AS title
         FROM contact_attempts a JOIN manual_tasks t ON t.id = a.task_id AND t.status = 'open'
         JOIN warnings w ON w.id = a.warning_id AND w.state = 'active'
        WHERE a.channel = 'manual' AND a.address = $1 AND a.sent_at IS NOT NULL
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
    | { deliveryId: string; attemptId: string | null; headline: string; sentAt: Date | null }
    | undefined
  > {
    const [row] = await this.db.query(
      `SELECT d.id AS "deliveryId", s.id AS "attemptId", v.content->>'headline' AS headline, s.sent_at AS "sentAt"
         FROM contact_points c
         JOIN deliveries d ON d.person_id = c.person_id AND d.state <> ALL($2::text[])
         JOIN warnings w ON w.id = d.warning_id AND w.state = 'active'
         JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
         LEFT JOIN LATERAL (
           SELECT a.id, a.sent_at FROM contact_attempts a
            WHERE a.delivery_id = d.id AND a.channel = 'sms' AND a.address = c.value
            ORDER BY a.sent_at DESC NULLS LAST, a.seq DESC LIMIT 1) s ON true
        WHERE c.value = $1 AND c.kind IN ('mobile', 'satellite')
          -- Only a warning whose message went to this number (handed to the provider at least):
          -- a reply to an older warning is not an answer to one still queued for this person.
          AND EXISTS (SELECT 1 FROM contact_attempts x
                       WHERE x.delivery_id = d.id AND x.address = c.value
                         AND x.status IN ('sending', 'sent', 'delivered', 'completed'))
        ORDER BY w.created_at DESC, s.sent_at DESC NULLS LAST, d.created_at DESC
        LIMIT 1`,
      // A request for help also reaches a warning already confirmed: it is a new emergency.
      [from, closedFor(kind)],
    );
    return row;
  }

  private async replyFor(kind: AnswerKind, deliveryId: string, headline: string): Promise<string> {
    const title = cut(headline, HEADLINE_MAX);
    if (kind === 'confirm') return this.sms(`已确认收到“${title}”，谢谢！请按预警要求做好防范。`);
    if (kind === 'help')
      return this.sms('已收到您的支援请求，值班人员将尽快与您联系，请保持电话畅通，注意安全。');
    const [{ n }] = await this.db.query(
      `SELECT count(*)::int AS n FROM answers WHERE delivery_id = $1 AND kind = 'ambiguous'`,
      [deliveryId],
    );
    if (n > MAX_CLARIFICATIONS) return this.sms('已收到您的短信，谢谢。');
    return this.sms(`未能识别您的回复。关于“${title}”：回复1确认收到，回复2请求支援。`);
  }

  private sms(text: string): string {
    return `【${this.signature}】${text}`;
  }
}
