import type { EventLog } from './event-log';
import type { PersonDirectory, PersonProfile } from './person-profiles';
import { SandboxStoppedError, SleepAbortedError, type SimClock } from './sim-clock';
import {
  callParams,
  FINAL_CALL_STATUSES,
  rfc2822,
  type CallEvent,
  type CallRecord,
  type CallStatus,
} from './twilio-resources';
import type { TwilioWebhookSender } from './twilio-webhook-sender';
import { parseTwiml, playMs, TwimlError, type TwimlNode } from './twiml';

/** Where the next TwiML document comes from. */
export type DocSource =
  | { url: string; method: 'GET' | 'POST'; extra?: Record<string, string>; purpose: string }
  | { twiml: string; purpose: string };

/** Why a call's AbortController fired. */
type AbortReason =
  | { kind: 'callee-hangup' }
  | { kind: 'api'; status: 'completed' | 'canceled' }
  | { kind: 'redirect'; source: DocSource };

type VerbsOutcome =
  | { kind: 'next'; source: DocSource }
  | { kind: 'hangup'; by: 'twiml' | 'end-of-document' | 'error' | 'loop-guard' };

interface Playing {
  node: TwimlNode;
  ms: number;
  /** Simulated call time (since answer) when it started. */
  startedAtSim: number;
  inGather: boolean;
}

/** Runtime state of a call in progress (not part of the REST resource). */
interface CallRun {
  person: PersonProfile;
  answered: boolean;
  /**
   * Simulated time since the answer, advanced by each wait: call durations and played times
   * come from it, so they do not depend on how busy the machine running the sandbox is.
   */
  elapsedSim: number;
  playing: Playing | null;
  cancelHangUpTimer: () => void;
  finished: boolean;
}

/** TwiML documents fetched in one call before the sandbox assumes a loop and hangs up. */
const MAX_DOCUMENTS = 50;
const PLAYABLE = new Set(['Say', 'Play', 'Pause']);
const GATHER_DEFAULT_TIMEOUT_S = 5;

function isAbortReason(value: unknown): value is AbortReason {
  return typeof value === 'object' && value !== null && 'kind' in value;
}

/**
 * An outbound call after Twilio accepted it: initiated → ringing → answered (or busy,
 * no-answer, failed), status callbacks for the events asked for in StatusCallbackEvent, then,
 * once answered, the TwiML at `Url` executed against the simulated person: <Say>/<Play>/<Pause>
 * take time, <Gather> collects the key the person presses (during or after the prompt),
 * posts it to the action URL and executes the TwiML answered there, <Redirect> fetches the next
 * document, <Hangup> or the end of the document ends the call; the person may hang up first.
 */
export class TwilioCallSimulator {
  private readonly runs = new Map<string, CallRun>();

  constructor(
    private readonly people: PersonDirectory,
    private readonly clock: SimClock,
    private readonly webhooks: TwilioWebhookSender,
    private readonly log: EventLog,
  ) {}

  start(call: CallRecord): void {
    const run: CallRun = {
      person: this.people.get(call.to),
      answered: false,
      elapsedSim: 0,
      playing: null,
      cancelHangUpTimer: () => undefined,
      finished: false,
    };
    this.runs.set(call.sid, run);
    this.simulate(call, run).catch((err: unknown) => {
      if (err instanceof SandboxStoppedError) return;
      this.log.record('voice', 'call.error', {
        ref: call.sid,
        to: call.to,
        data: { error: String(err) },
      });
    });
  }

  /** `POST …/Calls/{Sid}.json` with `Status=completed|canceled`; nothing if the call is over. */
  hangUpFromApi(call: CallRecord, requested: 'completed' | 'canceled'): void {
    const run = this.runs.get(call.sid);
    if (!run || run.finished || FINAL_CALL_STATUSES.has(call.status)) return;
    // Twilio ignores `canceled` for a call already answered.
    if (call.status === 'in-progress' && requested === 'canceled') return;
    // A call not answered yet ends as canceled, whatever was asked.
    const status = call.status === 'in-progress' ? 'completed' : 'canceled';
    this.log.record('voice', 'call.hangup', { ref: call.sid, to: call.to, data: { by: 'api' } });
    // The state changes now (the REST answer shows it); the callback follows.
    void this.finish(call, run, status, { by: 'api' });
    call.abort.abort({ kind: 'api', status } satisfies AbortReason);
  }

  /** `POST …/Calls/{Sid}.json` with a new `Url`/`Twiml`: the call continues with that document. */
  redirectFromApi(call: CallRecord, source: DocSource): boolean {
    if (call.status !== 'in-progress') return false;
    call.abort.abort({ kind: 'redirect', source } satisfies AbortReason);
    return true;
  }

  private async simulate(call: CallRecord, run: CallRun): Promise<void> {
    const { voice } = run.person;
    this.log.record('voice', 'call.person', {
      ref: call.sid,
      to: call.to,
      data: { kind: run.person.kind },
    });
    try {
      await this.clock.sleep(300, call.abort.signal);
      await this.progress(call, 'initiated', 'initiated');
      if (voice.outcome === 'failed') {
        // The number does not exist: the API accepted the call (201), the network refuses it.
        await this.clock.sleep(1_500, call.abort.signal);
        await this.finish(call, run, 'failed', { sipResponseCode: '404' });
        return;
      }
      await this.clock.sleep(1_000, call.abort.signal);
      await this.progress(call, 'ringing', 'ringing');
      const timeoutMs = call.timeoutSec * 1000;
      if (voice.outcome === 'busy') {
        await this.clock.sleep(Math.min(voice.ringMs, timeoutMs), call.abort.signal);
        await this.finish(call, run, 'busy', { sipResponseCode: '486' });
        return;
      }
      if (voice.outcome === 'no-answer' || voice.ringMs >= timeoutMs) {
        await this.clock.sleep(timeoutMs, call.abort.signal);
        await this.finish(call, run, 'no-answer', { sipResponseCode: '487' });
        return;
      }
      await this.clock.sleep(voice.ringMs, call.abort.signal);

      run.answered = true;
      call.startTime = new Date();
      if (call.machineDetection) call.answeredBy = 'human';
      // Twilio requests the TwiML and posts the `answered` callback at the same time.
      void this.progress(call, 'in-progress', 'answered').catch(() => undefined);
      if (voice.hangUpAfterMs !== null) {
        run.cancelHangUpTimer = this.clock.schedule(voice.hangUpAfterMs, () =>
          call.abort.abort({ kind: 'callee-hangup' } satisfies AbortReason),
        );
      }
      const initial: DocSource = call.twiml
        ? { twiml: call.twiml, purpose: 'twiml' }
        : { url: call.url ?? '', method: call.method, purpose: 'twiml' };
      const outcome = await this.execute(call, run, initial);
      this.log.record('voice', 'call.hangup', {
        ref: call.sid,
        to: call.to,
        data: { by: outcome.by },
      });
      await this.finish(call, run, 'completed', { by: outcome.by });
    } catch (err) {
      if (!(err instanceof SleepAbortedError)) throw err;
      const reason = isAbortReason(err.reason) ? err.reason : null;
      if (reason?.kind === 'callee-hangup') {
        const playing = run.playing;
        // The person hung up `hangUpAfterMs` into the call, whatever the machine's timer lag.
        run.elapsedSim = voice.hangUpAfterMs ?? run.elapsedSim;
        const playedMs = playing
          ? Math.min(playing.ms, Math.max(0, run.elapsedSim - playing.startedAtSim))
          : null;
        if (playing) this.logPlayed(call, playing, playedMs ?? 0, false);
        this.log.record('voice', 'call.hangup', {
          ref: call.sid,
          to: call.to,
          data: {
            by: 'callee',
            during: playing?.node.name ?? null,
            ...(playing ? { playedMs, ofMs: playing.ms } : {}),
          },
        });
        await this.finish(call, run, 'completed', { by: 'callee' });
      }
      // 'api': hangUpFromApi already finished the call.
    }
  }

  /** Runs documents until the call ends; follows REST redirects. */
  private async execute(
    call: CallRecord,
    run: CallRun,
    initial: DocSource,
  ): Promise<Extract<VerbsOutcome, { kind: 'hangup' }>> {
    let source: DocSource = initial;
    for (let documents = 1; ; documents++) {
      if (documents > MAX_DOCUMENTS) {
        this.log.record('voice', 'call.error', {
          ref: call.sid,
          to: call.to,
          data: { message: `more than ${MAX_DOCUMENTS} TwiML documents in one call: hanging up` },
        });
        return { kind: 'hangup', by: 'loop-guard' };
      }
      try {
        const doc = await this.fetchDocument(call, source, documents === 1);
        const outcome = await this.runVerbs(call, run, doc.root.children, doc.url);
        if (outcome.kind === 'hangup') return outcome;
        source = outcome.source;
      } catch (err) {
        const next =
          err instanceof TwimlError ? await this.applicationError(call, run) : redirectOf(err);
        if (!next) throw err;
        if (next === 'hangup') return { kind: 'hangup', by: 'error' };
        const cut = run.playing;
        if (cut) {
          this.logPlayed(
            call,
            cut,
            Math.min(cut.ms, Math.round(run.elapsedSim - cut.startedAtSim)),
            false,
          );
        }
        call.abort = new AbortController();
        run.playing = null;
        source = next;
      }
    }
  }

  /**
   * Twilio says "An application error has occurred" and hangs up; a REST redirect during that
   * message still takes the call elsewhere.
   */
  private async applicationError(call: CallRecord, run: CallRun): Promise<'hangup' | DocSource> {
    try {
      await this.wait(call, run, 3_000);
      return 'hangup';
    } catch (err) {
      const next = redirectOf(err);
      if (!next) throw err;
      return next;
    }
  }

  private async fetchDocument(
    call: CallRecord,
    source: DocSource,
    allowFallback: boolean,
  ): Promise<{ root: TwimlNode; url?: string }> {
    try {
      return await this.fetchOnce(call, source);
    } catch (err) {
      if (!(err instanceof TwimlError)) throw err;
      this.log.record('voice', 'call.error', {
        ref: call.sid,
        to: call.to,
        data: {
          code: err.code,
          message: err.message,
          ...('url' in source ? { url: source.url } : {}),
        },
      });
      if (!allowFallback || !call.fallbackUrl) throw err;
      const fallback: DocSource = {
        url: call.fallbackUrl,
        method: call.fallbackMethod,
        extra: {
          ErrorCode: String(err.code),
          ...('url' in source ? { ErrorUrl: source.url } : {}),
        },
        purpose: 'fallback',
      };
      return this.fetchOnce(call, fallback);
    }
  }

  private async fetchOnce(
    call: CallRecord,
    source: DocSource,
  ): Promise<{ root: TwimlNode; url?: string }> {
    if ('twiml' in source) {
      const root = parseTwiml(source.twiml);
      this.logDocument(call, root, undefined);
      return { root };
    }
    const result = await this.webhooks.send({
      url: source.url,
      method: source.method,
      params: callParams(call, source.extra),
      channel: 'voice',
      ref: call.sid,
      purpose: source.purpose,
    });
    if (!result.ok) {
      throw new TwimlError(11200, `HTTP retrieval failure: ${result.error}`);
    }
    const root = parseTwiml(result.body);
    this.logDocument(call, root, source.url);
    return { root, url: source.url };
  }

  private logDocument(call: CallRecord, root: TwimlNode, url: string | undefined): void {
    this.log.record('voice', 'call.twiml', {
      ref: call.sid,
      to: call.to,
      data: { url: url ?? null, verbs: root.children.map((n) => n.name) },
    });
  }

  private async runVerbs(
    call: CallRecord,
    run: CallRun,
    verbs: TwimlNode[],
    docUrl: string | undefined,
  ): Promise<VerbsOutcome> {
    for (const verb of verbs) {
      switch (verb.name) {
        case 'Say':
        case 'Play':
        case 'Pause':
          await this.play(call, run, verb, false);
          break;
        case 'Gather': {
          const result = await this.gather(call, run, verb);
          const wantsEmpty = verb.attrs.actionOnEmptyResult === 'true';
          if (result || wantsEmpty) {
            const target = this.resolveUrl(call, verb.attrs.action, docUrl);
            if (!target) return { kind: 'hangup', by: 'error' };
            return {
              kind: 'next',
              source: {
                url: target,
                method: methodOf(verb.attrs.method),
                extra: {
                  Digits: result?.digits ?? '',
                  FinishedOnKey: result?.finishedOnKey ?? '',
                  msg: 'Gather End',
                },
                purpose: 'gather-action',
              },
            };
          }
          break; // no input: Twilio goes on with the next verb
        }
        case 'Redirect': {
          const target = this.resolveUrl(call, verb.text, docUrl);
          if (!target) return { kind: 'hangup', by: 'error' };
          return {
            kind: 'next',
            source: { url: target, method: methodOf(verb.attrs.method), purpose: 'redirect' },
          };
        }
        case 'Hangup':
        case 'Reject':
          return { kind: 'hangup', by: 'twiml' };
        default:
          this.log.record('voice', 'call.unsupported-verb', {
            ref: call.sid,
            to: call.to,
            data: { verb: verb.name },
          });
      }
    }
    return { kind: 'hangup', by: 'end-of-document' };
  }

  /** An action or Redirect URL, resolved against the document it came from, as Twilio does. */
  private resolveUrl(
    call: CallRecord,
    target: string | undefined,
    docUrl: string | undefined,
  ): string | null {
    const raw = (target ?? '').trim() || docUrl;
    try {
      if (!raw) throw new Error('no URL');
      return new URL(raw, docUrl).toString();
    } catch {
      this.log.record('voice', 'call.error', {
        ref: call.sid,
        to: call.to,
        data: { code: 11100, message: `Invalid URL format: ${String(target)}` },
      });
      return null;
    }
  }

  private async play(
    call: CallRecord,
    run: CallRun,
    node: TwimlNode,
    inGather: boolean,
    untilMs?: number,
  ) {
    const ms = playMs(node);
    const playing: Playing = { node, ms, startedAtSim: run.elapsedSim, inGather };
    run.playing = playing;
    const interrupted = untilMs !== undefined && untilMs < ms;
    await this.wait(call, run, interrupted ? untilMs : ms);
    run.playing = null;
    this.logPlayed(call, playing, interrupted ? untilMs : ms, !interrupted);
  }

  private logPlayed(
    call: CallRecord,
    playing: Playing,
    playedMs: number,
    completed: boolean,
  ): void {
    if (playing.node.name === 'Pause') return;
    this.log.record('voice', 'call.say', {
      ref: call.sid,
      to: call.to,
      data: {
        verb: playing.node.name,
        text:
          playing.node.name === 'Say'
            ? playing.node.text
            : (playing.node.attrs.digits ?? playing.node.text),
        ...(playing.node.attrs.language ? { language: playing.node.attrs.language } : {}),
        ms: playing.ms,
        playedMs,
        completed,
        inGather: playing.inGather,
      },
    });
  }

  /**
   * A <Gather>: its nested prompt plays; the person presses their key `keyAfterMs` after the
   * gather started, interrupting the prompt if it is still playing (barge-in, as on Twilio), or
   * within `timeout` seconds after it. Returns null when no digit came.
   */
  private async gather(
    call: CallRecord,
    run: CallRun,
    node: TwimlNode,
  ): Promise<{ digits: string; finishedOnKey: string } | null> {
    const input = (node.attrs.input ?? 'dtmf').toLowerCase();
    const dtmf = input.includes('dtmf');
    const timeoutS = Number.parseFloat(node.attrs.timeout ?? '');
    const timeoutMs =
      (Number.isFinite(timeoutS) && timeoutS >= 0 ? timeoutS : GATHER_DEFAULT_TIMEOUT_S) * 1000;
    const numDigits = Number.parseInt(node.attrs.numDigits ?? '', 10);
    const finishOnKey = node.attrs.finishOnKey ?? '#';
    const prompt = node.children.filter((c) => PLAYABLE.has(c.name));
    const promptMs = prompt.reduce((sum, c) => sum + playMs(c), 0);
    const { key, keyAfterMs } = run.person.voice;
    const pressAt = dtmf && key && keyAfterMs < promptMs + timeoutMs ? keyAfterMs : null;

    let elapsed = 0;
    for (const child of prompt) {
      const ms = playMs(child);
      if (pressAt !== null && elapsed + ms > pressAt) {
        await this.play(call, run, child, true, pressAt - elapsed);
        elapsed = pressAt;
        break;
      }
      await this.play(call, run, child, true);
      elapsed += ms;
    }
    if (pressAt === null || key === null) {
      await this.wait(call, run, timeoutMs);
      this.log.record('voice', 'call.gather', {
        ref: call.sid,
        to: call.to,
        data: { digits: '', timedOut: true, promptMs },
      });
      return null;
    }
    if (pressAt > elapsed) await this.wait(call, run, pressAt - elapsed);

    let digits = key;
    let finishedOnKey = '';
    const finishAt = finishOnKey ? digits.indexOf(finishOnKey) : -1;
    if (finishAt >= 0) {
      digits = digits.slice(0, finishAt);
      finishedOnKey = finishOnKey;
    } else if (Number.isFinite(numDigits) && numDigits > 0) {
      digits = digits.slice(0, numDigits);
      // Fewer digits than numDigits: Twilio submits what it has once `timeout` passes.
      if (digits.length < numDigits) await this.wait(call, run, timeoutMs);
    } else {
      await this.wait(call, run, timeoutMs);
    }
    this.log.record('voice', 'call.gather', {
      ref: call.sid,
      to: call.to,
      data: {
        digits,
        timedOut: false,
        duringPrompt: pressAt < promptMs,
        pressedAtMs: pressAt,
        promptMs,
      },
    });
    return { digits, finishedOnKey };
  }

  /** A simulated wait during the call, counted in the call's simulated time (even if cut short). */
  private async wait(call: CallRecord, run: CallRun, ms: number): Promise<void> {
    const started = Date.now();
    try {
      await this.clock.sleep(ms, call.abort.signal);
      run.elapsedSim += ms;
    } catch (err) {
      run.elapsedSim += Math.min(ms, this.clock.sim(Date.now() - started));
      throw err;
    }
  }

  /** A status change; the callback goes out if its event was asked for. */
  private async progress(call: CallRecord, status: CallStatus, event: CallEvent): Promise<void> {
    call.status = status;
    call.dateUpdated = new Date();
    this.log.record('voice', 'call.status', { ref: call.sid, to: call.to, data: { status } });
    await this.statusCallback(call, event, {});
  }

  private async finish(
    call: CallRecord,
    run: CallRun,
    status: CallStatus,
    info: { by?: string; sipResponseCode?: string },
  ): Promise<void> {
    if (run.finished) return;
    run.finished = true;
    run.cancelHangUpTimer();
    const now = new Date();
    call.status = status;
    call.endTime = now;
    call.dateUpdated = now;
    // Durations are in simulated seconds, like everything the sandbox reports.
    call.duration = run.answered ? Math.ceil(run.elapsedSim / 1000) : 0;
    this.runs.delete(call.sid);
    this.log.record('voice', 'call.status', {
      ref: call.sid,
      to: call.to,
      data: { status, duration: call.duration, ...(info.by ? { by: info.by } : {}) },
    });
    const sip =
      info.sipResponseCode ??
      (status === 'completed' ? '200' : status === 'canceled' ? '487' : undefined);
    await this.statusCallback(call, 'completed', {
      CallDuration: String(call.duration),
      Duration: String(Math.ceil(call.duration / 60)),
      ...(sip ? { SipResponseCode: sip } : {}),
    });
  }

  private async statusCallback(
    call: CallRecord,
    event: CallEvent,
    extra: Record<string, string>,
  ): Promise<void> {
    if (!call.statusCallback || !call.statusCallbackEvents.has(event)) return;
    const params = callParams(call, {
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(call.callbackSequence++),
      Timestamp: rfc2822(new Date()),
      ...extra,
    });
    await this.webhooks.send({
      url: call.statusCallback,
      method: call.statusCallbackMethod,
      params,
      channel: 'voice',
      ref: call.sid,
      purpose: `status:${call.status}`,
    });
  }
}

/** The document a REST redirect (`POST Calls/{Sid}` with `Url`) aborted a wait for, if it was one. */
function redirectOf(err: unknown): DocSource | null {
  return err instanceof SleepAbortedError &&
    isAbortReason(err.reason) &&
    err.reason.kind === 'redirect'
    ? err.reason.source
    : null;
}

export function methodOf(
  value: string | undefined,
  fallback: 'GET' | 'POST' = 'POST',
): 'GET' | 'POST' {
  const upper = (value ?? '').toUpperCase();
  return upper === 'GET' ? 'GET' : upper === 'POST' ? 'POST' : fallback;
}
