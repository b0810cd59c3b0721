import { TimeoutError, withTimeout } from '../../common/with-timeout';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { positive } from '../../common/config-number';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import { DataSource, type EntityManager } from 'typeorm';
import { type AuditEventInput, AuditService } from '../audit/audit.service';
import { AnswerListeners } from './answer-listener';
import { NoticesRepository } from './notices.repository';
import {
  type AnswerStep,
  ChainMoves,
  markEffective,
  type KeypressCall,
  pendingSendsStoppedEvent,
} from './chain-moves.repository';
import {
  type AnswerInput,
  type AnswerKind,
  type AnswerResult,
  currentLateReason,
  delayedNote,
  type LateReason,
} from './answers.types';
import { answerSteps, markEffectiveMany, type StepItem } from './answer-steps';
import { answersRecorded } from '../../common/observability/metrics';
import { AnswerBatches, type ManyOutcome } from './answer-batches';
import type { OnSiteAnswer } from './answers.types';

export * from './answers.types';

/** An answer waiting in a batch (AnswerBatches' data): itself, and why it is late, if it is. */
interface Recording extends StepItem {
  lateReason?: LateReason;
}

/**
 * How long an answer's webhook waits for its follow-up (alert the superiors of a help request).
 * The answer itself and the stop of the person's sends are already committed by then; past this
 * the follow-up goes on in the background, so that a webhook is answered well within a second
 * (Twilio gives up on a webhook after 15 s; a keypress must never wait that long).
 */
const LISTENER_TIMEOUT_MS = 500;

/**
 * Every way a person answers (叫应) ends here: keypress, SMS reply, signed link, on-site record.
 * Each answer is kept with its channel, attempt, time and raw input, once per dedupe key; only
 * the first confirm or help moves the delivery (to confirmed / declined), so a webhook delivered
 * twice, late or out of order changes nothing twice and never overwrites an earlier answer. Help
 * asked after a confirmation still counts: the person needs help now.
 */
@Injectable()
export class AnswersService {
  private readonly logger = new Logger(AnswersService.name);

  /** Answers arriving together share a transaction and its commit (see AnswerBatches). */
  private readonly batches: AnswerBatches;

  constructor(
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly notices: NoticesRepository,
    private readonly moves: ChainMoves,
    private readonly listeners: AnswerListeners,
    config: ConfigService,
  ) {
    this.batches = new AnswerBatches(db, {
      lanes: positive(config.get('ANSWER_BATCH_LANES'), 8),
      max: positive(config.get('ANSWER_BATCH_MAX'), 32),
      many: (m, data) => this.recordMany(m, data as Recording[]),
    });
  }

  /** How many answers have shared a commit with others, in how many transactions. */
  get sharedCommits(): { batches: number; answers: number; set: number } {
    return { ...this.batches.shared };
  }

  /**
   * An answer to a notice (a superior's keypress or SMS reply to a message about someone else):
   * it acknowledges what the notice reported. A person brought into the warning by an escalation
   * has notices as their whole chain: for them it is also the answer to their own delivery. A 2
   * asks for help: the superior's own superior and the duty office are told.
   */
  async answerNotice(input: {
    attemptId: string;
    kind: AnswerKind;
    channel: 'voice' | 'sms';
    raw?: string | null;
    dedupeKey: string;
    /** When it was received, for an answer replayed from the inbound spool (else now). */
    receivedAt?: Date;
  }): Promise<{ recorded: boolean; acknowledged: number; deliveryId?: string }> {
    const ack = await this.notices.acknowledge(input);
    if (!ack) return { recorded: false, acknowledged: 0 };
    if (ack.recorded && input.kind !== 'ambiguous') {
      const [d] = await this.db.query(
        `SELECT escalated_from IS NOT NULL AS "broughtIn" FROM deliveries WHERE id = $1`,
        [ack.deliveryId],
      );
      if (d?.broughtIn) {
        await this.record({
          deliveryId: ack.deliveryId,
          kind: input.kind,
          channel: input.channel,
          attemptId: input.attemptId,
          raw: input.raw,
          dedupeKey: `${input.dedupeKey}:own`,
          receivedAt: input.receivedAt,
        });
      } else if (input.kind === 'help') {
        await this.afterRecord(input, {
          recorded: true,
          effective: true,
          state: 'confirmed',
          deliveryId: ack.deliveryId,
          warningId: ack.warningId,
        });
      }
    }
    return { recorded: ack.recorded, acknowledged: ack.acknowledged, deliveryId: ack.deliveryId };
  }

  /** A task completed on site: the visited person's answer (once per task). */
  recordOnSite(a: OnSiteAnswer): Promise<AnswerResult> {
    return this.record({ ...a, kind: 'confirm', channel: 'on_site' });
  }

  async record(input: AnswerInput): Promise<AnswerResult> {
    const { result } = await this.batches.run(
      (m) => this.recordIn(m, input),
      `delivery:${input.deliveryId}`,
      { input, lateReason: currentLateReason() } satisfies Recording,
    );
    return this.recorded(input, result!);
  }

  /**
   * A key pressed on a call and what it answers, in one transaction (one commit): the digits on
   * the call, and the answer of the call's person, unless the call is a notice (the caller then
   * acknowledges the notice, `answerNotice`). Returns the call, with what its texts need; undefined
   * for an unknown attempt (nothing recorded).
   */
  async recordKeypress(
    key: { attemptId: string; digits: string; receivedAt?: Date },
    answer: Omit<AnswerInput, 'deliveryId' | 'attemptId'>,
  ): Promise<KeypressCall | undefined> {
    const input = { ...answer, attemptId: key.attemptId };
    const { call, result } = await this.batches.run(
      (m) => this.recordIn(m, input, key),
      `call:${key.attemptId}`,
      { input, key, lateReason: currentLateReason() } satisfies Recording,
    );
    if (result) await this.recorded(input, result);
    return call;
  }

  /**
   * The answer and what it stops, in the caller's transaction, in as few statements as the
   * chain's guards allow: the answer's statement (the key, the answer, the person moved, their
   * queued sends stopped, the grid's answers lock: `ChainMoves.answerStep`); for a confirmation
   * whose person may have something reported about them, what it resolves (edges, door-to-door
   * tasks) in a statement of its own; then the answer marked effective and every audit event in
   * one more. One commit: the answer, the stop of the person's queued sends and, for a
   * confirmation, what was reported about them resolved and their tasks closed.
   */
  private async recordIn(
    m: EntityManager,
    input: Omit<AnswerInput, 'deliveryId'> & { deliveryId?: string },
    key?: { attemptId: string; digits: string; receivedAt?: Date },
  ): Promise<AnswerStep> {
    const step = await this.moves.answerStep(m, input, key);
    if (!step.result) return step;
    const events = await this.eventsOf(m, input, step);
    const r = step.result;
    await this.audit.appendWith(m, events, r.effective ? markEffective(r.answerId!) : undefined);
    return step;
  }

  /**
   * `recordIn` for a batch of answers at once (AnswerBatches' `many`): their statements made
   * set-based (`answerSteps`: one per round of answers of different people, a person's later
   * answers in the next round, as one after the other), then what each confirmation resolves
   * (a statement each, only for those that may resolve something), then every audit event and
   * every effective answer marked in one statement. One answer's own failure (an unknown
   * delivery) is its own.
   */
  private async recordMany(m: EntityManager, items: Recording[]): Promise<ManyOutcome[]> {
    const out: ManyOutcome[] = new Array(items.length);
    let pending = items.map((_, i) => i);
    while (pending.length) {
      // One answer per dedupe key, person and call in a statement, first come first.
      const seen = new Set<string>();
      const round: number[] = [];
      const later: number[] = [];
      for (const i of pending) {
        const { input, key } = items[i];
        const marks = [`answer:${input.dedupeKey}`];
        if (input.deliveryId) marks.push(`delivery:${input.deliveryId}`);
        if (key) marks.push(`call:${key.attemptId}`);
        if (marks.some((k) => seen.has(k))) later.push(i);
        else {
          round.push(i);
          for (const k of marks) seen.add(k);
        }
      }
      const outcomes = await answerSteps(
        m,
        round.map((i) => items[i]),
      );
      outcomes.forEach((o, n) => {
        if ('deferred' in o) later.push(round[n]);
        else out[round[n]] = 'error' in o ? o : { value: o.step };
      });
      pending = later.sort((a, b) => a - b);
    }
    const events: AuditEventInput[] = [];
    const effective: string[] = [];
    for (const [i, o] of out.entries()) {
      if ('error' in o) continue;
      const step = o.value as AnswerStep;
      if (!step.result) continue;
      events.push(...(await this.eventsOf(m, items[i].input, step, items[i].lateReason)));
      if (step.result.effective) effective.push(step.result.answerId!);
    }
    await this.audit.appendWith(
      m,
      events,
      effective.length ? markEffectiveMany(effective) : undefined,
    );
    return out;
  }

  /**
   * An answer's audit events, after its statement: its queued sends stopped, what a confirmation
   * resolves (a statement of its own), the answer recorded. `lateReason`: why it is late, when
   * it is recorded outside its caller's async context.
   */
  private async eventsOf(
    m: EntityManager,
    input: Omit<AnswerInput, 'deliveryId'> & { deliveryId?: string },
    step: AnswerStep,
    lateReason: LateReason | undefined = currentLateReason(),
  ): Promise<AuditEventInput[]> {
    const r = step.result!;
    const events: AuditEventInput[] = [];
    if (r.effective && step.cancelled) events.push(pendingSendsStoppedEvent(r, step.cancelled));
    if (r.effective && input.kind === 'confirm' && step.mayResolve)
      events.push(...(await this.moves.resolveForSubject(m, r.deliveryId, step.lockAfter)));
    if (r.recorded && r.answerId)
      // The raw input stays in answers (it may be free text); the log keeps ids and codes.
      events.push({
        actor:
          input.recordedBy ?? (input.channel === 'link' ? 'link' : `provider:${input.channel}`),
        action: 'answer.recorded',
        subjectType: 'answer',
        subjectId: r.answerId,
        warningId: r.warningId,
        data: {
          deliveryId: r.deliveryId,
          attemptId: input.attemptId ?? null,
          kind: input.kind,
          channel: input.channel,
          effective: r.effective,
          state: r.state,
          ...delayedNote(input.receivedAt, lateReason),
        },
      });
    return events;
  }

  private recorded(input: Pick<AnswerInput, 'channel' | 'kind'>, result: AnswerResult) {
    if (result.recorded)
      answersRecorded().inc({
        channel: input.channel,
        kind: input.kind,
        effective: String(result.effective),
      });
    return this.afterRecord(input, result);
  }

  private async afterRecord(
    input: Pick<AnswerInput, 'kind'>,
    result: AnswerResult,
  ): Promise<AnswerResult> {
    if (!result.effective || input.kind === 'ambiguous') return result;
    const answer = { deliveryId: result.deliveryId, warningId: result.warningId, kind: input.kind };
    for (const listener of this.listeners.all) {
      try {
        // A webhook is answered within a second whatever the queue backend does: past the limit
        // the follow-up goes on in the background, and the recovery sweep makes good a lost one.
        const work = listener.onAnswer(answer);
        // A follow-up still running when the webhook is answered: a late failure is logged too.
        work.catch((err: unknown) =>
          this.logger.error(
            { err, deliveryId: result.deliveryId, kind: input.kind },
            'answer listener failed',
          ),
        );
        await withTimeout(work, LISTENER_TIMEOUT_MS, 'the answer follow-up');
      } catch (err) {
        // The answer is committed; a webhook retry would be a duplicate and not call again. Past
        // the deadline the follow-up goes on in the background (expected under load: a warning).
        if (err instanceof TimeoutError)
          this.logger.warn(
            { deliveryId: result.deliveryId, kind: input.kind },
            'answer follow-up still running after the webhook was answered',
          );
      }
    }
    return result;
  }
}
