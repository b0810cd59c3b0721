import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppException } from '../errors/app.exception';
import { answersAcknowledgedEarly, webhooksShed } from '../observability/metrics';

/**
 * Answers: a person's keypress (Twilio Gather action) or SMS reply. Callbacks: every other
 * provider webhook (status callbacks, a call's first TwiML, broadcast receipts).
 */
export type AdmissionClass = 'answer' | 'callback';

const ANSWER_ROUTES = [
  /^\/webhooks\/twilio\/voice\/[^/]+\/gather\/?$/,
  /^\/webhooks\/twilio\/sms\/?$/,
];

export function admissionClassOf(method: string, path: string): AdmissionClass | undefined {
  if (!path.startsWith('/webhooks/')) return undefined;
  return method === 'POST' && ANSWER_ROUTES.some((r) => r.test(path)) ? 'answer' : 'callback';
}

export interface WebhookAdmissionOptions {
  /** Callbacks handled at once, at most (0: no limit). */
  maxCallbacks: number;
  /** Answers handled or still being recorded at once, at most (0: no limit). */
  maxAnswers: number;
  /** An answer's webhook is answered by then, ms from its arrival (0: when recorded). */
  ackMs: number;
  /** Retry-After of a shed webhook, in seconds (default 1). */
  retryAfterSeconds?: number;
  /**
   * More answers in hand than this (0: never): `onAnswersPressing` is told, on each arrival and
   * each end while it lasts (ANSWER_PRESSURE_IN_HAND).
   */
  pressureAt?: number;
  /** Answers are queueing in this process: the fan-out yields to them (DispatchQueue). */
  onAnswersPressing?: () => void;
}

/** Set on res.locals by the middleware: when the request arrived and what keeps it counted. */
const ARRIVED = 'admissionArrivedAt';
const HOLD = 'admissionHold';
/** Set on res.locals for an answer admitted past the bound: it may only be kept in the spool. */
const SPOOL_ONLY = 'admissionSpoolOnly';

/**
 * Load shedding of provider webhooks in one API process. Past a bounded number in hand, a webhook
 * is answered 503 with Retry-After at once, before its body is read, instead of queueing behind
 * the others until the provider gives up (Twilio waits 15 s). Answers and callbacks are bounded
 * apart: a callback is cheap to shed (the recovery sweep asks the provider for receipts that
 * never came), an answer is not (Twilio does not retry a Gather action answered 503), so answers
 * have a bound of their own, far higher, and a deadline instead: an answer's handler waits for
 * its recording until `ackMs` after arrival (`within`), then replies anyway and the recording
 * goes on in the background, still counted against `maxAnswers` until it ends.
 *
 * Past `maxAnswers`, an answer is not shed but admitted **spool-only** (`spoolOnly`): its handler
 * keeps it in the inbound spool (one write to the queue backend, nothing held in this process)
 * and answers "received"; the spool's worker records it. Only when as many spool-only answers are
 * in hand as `maxAnswers` too (the queue backend is not keeping up either), or for a webhook that
 * cannot be answered without the database (another key, no key), is the answer shed: 503.
 */
export class WebhookAdmission {
  readonly inHand: Record<AdmissionClass, number> = { answer: 0, callback: 0 };
  readonly shed: Record<AdmissionClass, number> = { answer: 0, callback: 0 };
  /** Answers admitted past the bound, being kept in the spool now. */
  spoolingInHand = 0;
  /** Answers whose webhook was answered before they were recorded. */
  acknowledgedEarly = 0;

  constructor(readonly opts: WebhookAdmissionOptions) {}

  private limit(cls: AdmissionClass): number {
    return cls === 'answer' ? this.opts.maxAnswers : this.opts.maxCallbacks;
  }

  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const cls = admissionClassOf(req.method, req.path);
      if (!cls) return next();
      const limit = this.limit(cls);
      if (limit > 0 && this.inHand[cls] >= limit) {
        if (cls === 'answer' && this.spoolingInHand < limit) {
          // Past the bound, an answer is only kept in the spool (see the class's comment).
          this.pressing();
          this.spoolingInHand++;
          res.locals[SPOOL_ONLY] = true;
          res.once('close', () => this.spoolingInHand--);
          return next();
        }
        return this.refuse(cls, res, next);
      }
      this.inHand[cls]++;
      if (cls === 'answer') this.pressing();
      res.locals[ARRIVED] = performance.now();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.inHand[cls]--;
        if (cls === 'answer') this.pressing();
      };
      res.once('close', () => {
        const hold = res.locals[HOLD] as Promise<unknown> | undefined;
        if (hold) void hold.then(release, release);
        else release();
      });
      next();
    };
  }

  /** Tells `onAnswersPressing` while more answers are in hand than `pressureAt`. */
  private pressing(): void {
    const at = this.opts.pressureAt ?? 0;
    if (at > 0 && this.inHand.answer > at) this.opts.onAnswersPressing?.();
  }

  /** A webhook answered 503 with Retry-After, its body not read. */
  private refuse(cls: AdmissionClass, res: Response, next: NextFunction): void {
    this.shed[cls]++;
    webhooksShed().inc({ class: cls });
    // The rest of the body is not read: the connection ends with the answer.
    res.setHeader('Connection', 'close');
    next(AppException.overloaded(this.opts.retryAfterSeconds ?? 1));
  }

  /** Whether this answer was admitted past the bound: it may only be kept in the inbound spool. */
  spoolOnly(res: Response): boolean {
    return res.locals[SPOOL_ONLY] === true;
  }

  /**
   * An answer admitted spool-only that cannot be: it needs the database to be answered (another
   * key, no key). Shed after all: 503 with Retry-After.
   */
  overloaded(): AppException {
    this.shed.answer++;
    webhooksShed().inc({ class: 'answer' });
    return AppException.overloaded(this.opts.retryAfterSeconds ?? 1);
  }

  /**
   * For an answer's handler: `work` (recording the answer) if it ends before the deadline
   * (`ackMs` from the request's arrival), else `{ done: false }` at the deadline, the request
   * staying counted until `work` ends; its failure is then passed to `onLateError` (the webhook
   * has been answered: nobody else will hear of it).
   */
  async within<T>(
    res: Response,
    work: Promise<T>,
    onLateError: (err: unknown) => void,
  ): Promise<{ done: true; value: T } | { done: false }> {
    const arrived = res.locals[ARRIVED] as number | undefined;
    if (!this.opts.ackMs || arrived === undefined) return { done: true, value: await work };
    const left = this.opts.ackMs - (performance.now() - arrived);
    let timer: NodeJS.Timeout | undefined;
    const late = Symbol('late');
    const first = await Promise.race([
      work.then((value) => ({ value })),
      new Promise<typeof late>((resolve) => {
        timer = setTimeout(() => resolve(late), Math.max(0, left));
      }),
    ]).finally(() => clearTimeout(timer));
    if (first !== late) return { done: true, value: first.value };
    this.acknowledgedEarly++;
    answersAcknowledgedEarly().inc();
    res.locals[HOLD] = work.catch(onLateError);
    return { done: false };
  }
}
