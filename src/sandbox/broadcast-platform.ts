import express, { type Request, type Response, type Router } from 'express';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EventLog } from './event-log';
import { describeError, type OutboundHttp } from './http-client';
import { intFrom, unitFrom } from './seeded-random';
import { broadcastSignature } from './signatures';
import { SandboxStoppedError, type SimClock } from './sim-clock';
import { speechMs } from './twiml';

/** `POST /broadcast/v1/tasks` body (see src/sandbox/README.md, "Broadcast platform contract"). */
export interface BroadcastTaskRequest {
  taskRef: string;
  text: string;
  areaCodes: string[];
  terminalCodes: string[];
  level: string | number;
  repeat: number;
  callbackUrl: string;
}

/** What the platform posts to `callbackUrl` for each terminal. */
export interface BroadcastReceipt {
  taskId: string;
  taskRef: string;
  terminalCode: string;
  status: 'played' | 'failed';
  /** When playback finished (ISO 8601); null when it failed. */
  playedAt: string | null;
  /** Times the text was played (0 when failed). */
  repeat: number;
  /** Why it failed (`terminal_offline`). */
  error?: string;
}

export const BROADCAST_SIGNATURE_HEADER = 'X-Broadcast-Signature';

/** Share of terminals that are offline, chosen per terminal code from the seed. */
const OFFLINE_SHARE = 0.1;
const RECEIPT_ATTEMPTS = 3;

interface Task {
  taskId: string;
  request: BroadcastTaskRequest;
  bodyHash: string;
  terminals: string[];
}

export interface BroadcastDeps {
  secret: string;
  seed: number;
  clock: SimClock;
  http: OutboundHttp;
  log: EventLog;
}

function validate(
  body: unknown,
): { ok: true; value: BroadcastTaskRequest } | { ok: false; message: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return { ok: false, message: 'body must be a JSON object' };
  const b = body as Record<string, unknown>;
  const stringArray = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string' && x.trim() !== '');
  if (typeof b.taskRef !== 'string' || !b.taskRef.trim() || b.taskRef.length > 128) {
    return { ok: false, message: 'taskRef must be a non-empty string (at most 128 characters)' };
  }
  if (typeof b.text !== 'string' || !b.text.trim() || b.text.length > 2000) {
    return { ok: false, message: 'text must be a non-empty string (at most 2000 characters)' };
  }
  if (!stringArray(b.areaCodes))
    return { ok: false, message: 'areaCodes must be an array of strings' };
  if (!stringArray(b.terminalCodes))
    return { ok: false, message: 'terminalCodes must be an array of strings' };
  const areaCodes = b.areaCodes as string[];
  const terminalCodes = b.terminalCodes as string[];
  if (areaCodes.some((c) => !/^\d{2,12}$/.test(c))) {
    return {
      ok: false,
      message: 'areaCodes must be administrative division codes (2 to 12 digits)',
    };
  }
  if (areaCodes.length === 0 && terminalCodes.length === 0) {
    return { ok: false, message: 'at least one area code or terminal code is required' };
  }
  if (!(typeof b.level === 'number' || (typeof b.level === 'string' && b.level.trim()))) {
    return { ok: false, message: 'level is required (string or number)' };
  }
  if (!Number.isInteger(b.repeat) || (b.repeat as number) < 1 || (b.repeat as number) > 10) {
    return { ok: false, message: 'repeat must be an integer from 1 to 10' };
  }
  let url: URL | null;
  try {
    url = typeof b.callbackUrl === 'string' ? new URL(b.callbackUrl) : null;
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return { ok: false, message: 'callbackUrl must be an http(s) URL' };
  }
  return {
    ok: true,
    value: {
      taskRef: b.taskRef,
      text: b.text,
      areaCodes,
      terminalCodes,
      level: b.level as string | number,
      repeat: b.repeat as number,
      callbackUrl: b.callbackUrl as string,
    },
  };
}

/**
 * The emergency-broadcast platform (应急广播 / 村村响): accepts a signed task, plays it on each
 * terminal (of the listed terminals, or of the listed areas), and posts one signed playback
 * receipt per terminal to the task's callback URL.
 */
export class BroadcastPlatform {
  private readonly tasks = new Map<string, Task>();
  private readonly byRef = new Map<string, Task>();
  private readonly terminalOverrides = new Map<string, 'online' | 'offline'>();

  constructor(private readonly deps: BroadcastDeps) {}

  setTerminalStatus(terminalCode: string, status: 'online' | 'offline'): void {
    this.terminalOverrides.set(terminalCode, status);
  }

  isOnline(terminalCode: string): boolean {
    const override = this.terminalOverrides.get(terminalCode);
    if (override) return override === 'online';
    return unitFrom(this.deps.seed, 'terminal', terminalCode) >= OFFLINE_SHARE;
  }

  /** The terminals of an area when a task names areas only: `${areaCode}-01` … (2 to 4 of them). */
  terminalsOfArea(areaCode: string): string[] {
    const n = intFrom(this.deps.seed, 2, 4, 'area-terminals', areaCode);
    return Array.from({ length: n }, (_, i) => `${areaCode}-${String(i + 1).padStart(2, '0')}`);
  }

  router(): Router {
    const router = express.Router();
    router.post(
      '/broadcast/v1/tasks',
      express.raw({ type: () => true, limit: '1mb' }),
      (req: Request, res: Response) => this.createTask(req, res),
    );
    return router;
  }

  private createTask(req: Request, res: Response): void {
    const { secret, log } = this.deps;
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const given = String(req.get(BROADCAST_SIGNATURE_HEADER) ?? '').toLowerCase();
    const expected = broadcastSignature(secret, raw);
    if (
      given.length !== expected.length ||
      !timingSafeEqual(Buffer.from(given), Buffer.from(expected))
    ) {
      log.record('broadcast', 'broadcast.rejected', {
        data: { status: 401, error: 'invalid_signature' },
      });
      res.status(401).json({
        error: 'invalid_signature',
        message: `${BROADCAST_SIGNATURE_HEADER} does not match`,
      });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const checked = validate(body);
    if (!checked.ok) {
      log.record('broadcast', 'broadcast.rejected', {
        data: { status: 400, error: 'invalid_request', message: checked.message },
      });
      res.status(400).json({ error: 'invalid_request', message: checked.message });
      return;
    }
    const request = checked.value;
    const bodyHash = createHash('sha256').update(raw).digest('hex');
    const existing = this.byRef.get(request.taskRef);
    if (existing) {
      if (existing.bodyHash === bodyHash) {
        res.status(200).json({ taskId: existing.taskId, terminals: existing.terminals });
        return;
      }
      log.record('broadcast', 'broadcast.rejected', {
        data: { status: 409, error: 'task_ref_conflict', taskRef: request.taskRef },
      });
      res.status(409).json({
        error: 'task_ref_conflict',
        message: `taskRef ${request.taskRef} was used for another task`,
      });
      return;
    }
    const terminals = [
      ...new Set(
        request.terminalCodes.length
          ? request.terminalCodes
          : request.areaCodes.flatMap((a) => this.terminalsOfArea(a)),
      ),
    ];
    const task: Task = {
      taskId: `BT${randomBytes(12).toString('hex')}`,
      request,
      bodyHash,
      terminals,
    };
    this.tasks.set(task.taskId, task);
    this.byRef.set(request.taskRef, task);
    log.record('broadcast', 'broadcast.task', {
      ref: task.taskId,
      data: {
        taskRef: request.taskRef,
        level: request.level,
        repeat: request.repeat,
        text: request.text,
        areaCodes: request.areaCodes,
        terminals,
      },
    });
    res.status(201).json({ taskId: task.taskId, terminals });
    for (const terminal of terminals) {
      this.play(task, terminal).catch((err: unknown) => {
        if (!(err instanceof SandboxStoppedError)) {
          log.record('broadcast', 'broadcast.error', {
            ref: task.taskId,
            to: terminal,
            data: { error: String(err) },
          });
        }
      });
    }
  }

  private async play(task: Task, terminal: string): Promise<void> {
    const { clock, seed } = this.deps;
    const { request } = task;
    const startMs = intFrom(seed, 1_000, 5_000, 'terminal-start', terminal, task.taskId);
    let receipt: BroadcastReceipt;
    if (!this.isOnline(terminal)) {
      // The platform gives up on a terminal that does not answer.
      await clock.sleep(startMs + 3_000);
      receipt = {
        taskId: task.taskId,
        taskRef: request.taskRef,
        terminalCode: terminal,
        status: 'failed',
        playedAt: null,
        repeat: 0,
        error: 'terminal_offline',
      };
    } else {
      const onceMs = speechMs(request.text);
      await clock.sleep(startMs + request.repeat * onceMs + (request.repeat - 1) * 2_000);
      receipt = {
        taskId: task.taskId,
        taskRef: request.taskRef,
        terminalCode: terminal,
        status: 'played',
        playedAt: new Date().toISOString(),
        repeat: request.repeat,
      };
    }
    await this.deliver(task, receipt);
  }

  /** Posts a receipt, retrying twice (5 s, then 10 s later) when the gateway does not take it. */
  private async deliver(task: Task, receipt: BroadcastReceipt): Promise<void> {
    const { clock, http, log, secret } = this.deps;
    const body = JSON.stringify(receipt);
    for (let attempt = 1; attempt <= RECEIPT_ATTEMPTS; attempt++) {
      let status: number | null = null;
      let error: string | undefined;
      try {
        const res = await http.request({
          method: 'POST',
          url: task.request.callbackUrl,
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            [BROADCAST_SIGNATURE_HEADER]: broadcastSignature(secret, body),
          },
          body,
        });
        status = res.status;
      } catch (err) {
        error = describeError(err);
      }
      const delivered = status !== null && status >= 200 && status < 300;
      log.record('broadcast', 'broadcast.receipt', {
        ref: task.taskId,
        to: receipt.terminalCode,
        data: {
          ...receipt,
          httpStatus: status,
          attempt,
          delivered,
          ...(error ? { deliveryError: error } : {}),
        },
      });
      if (delivered) return;
      if (attempt < RECEIPT_ATTEMPTS) await clock.sleep(5_000 * attempt);
    }
  }
}
