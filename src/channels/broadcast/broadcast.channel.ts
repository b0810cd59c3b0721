import type {
  BroadcastChannel,
  BroadcastSendReceipt,
  BroadcastSendRequest,
} from '../channel.interface';
import { ChannelError } from '../channel.types';
import { httpStatusError, postJson } from '../http/provider-http';
import { BROADCAST_SIGNATURE_HEADER, broadcastSignature } from './broadcast-signature';

export interface BroadcastPlatformOptions {
  /** BROADCAST_API_URL (tasks go to {apiUrl}/broadcast/v1/tasks). */
  apiUrl: string;
  /** BROADCAST_SECRET. */
  secret: string;
  /** HTTP timeout, default 10 s. */
  timeoutMs?: number;
}

export const BROADCAST_TASKS_PATH = '/broadcast/v1/tasks';
const WHAT = 'the broadcast platform';

export { BroadcastReceiptVerifier, verifyBroadcastReceipt } from './broadcast-signature';
export { parseBroadcastReceipt, type BroadcastReceiptEvent } from './broadcast-receipt';

/**
 * The emergency-broadcast platform (应急广播 / 村村响): `POST {apiUrl}/broadcast/v1/tasks` with a
 * JSON task signed in X-Broadcast-Signature; 201 `{ taskId, terminals }` for a new task, 200 with
 * the same task for a repeated `taskRef` (so a retry after a lost answer is safe), 409 when the
 * `taskRef` was used for a different task. Playback receipts come back per terminal
 * (broadcast-receipt.ts).
 */
export class BroadcastPlatformChannel implements BroadcastChannel {
  readonly kind = 'broadcast' as const;
  private readonly tasksUrl: string;

  constructor(private readonly options: BroadcastPlatformOptions) {
    this.tasksUrl = `${options.apiUrl.replace(/\/+$/, '')}${BROADCAST_TASKS_PATH}`;
  }

  /** Refuses what the platform would refuse (400), before sending. */
  private check(request: BroadcastSendRequest): void {
    const fail = (message: string) => {
      throw new ChannelError(
        'permanent',
        'invalid_task',
        `broadcast task ${request.taskRef}: ${message}`,
      );
    };
    if (!request.taskRef.trim() || request.taskRef.length > 128)
      fail('taskRef must be 1–128 characters');
    if (!request.text.trim()) fail('the text is empty');
    if (request.text.length > 2000)
      fail(`the text is ${request.text.length} characters (at most 2000)`);
    if (!Number.isInteger(request.repeat) || request.repeat < 1 || request.repeat > 10) {
      fail('repeat must be an integer from 1 to 10');
    }
    if (!request.areaCodes.length && !request.terminalCodes.length) fail('no area and no terminal');
    if (request.areaCodes.some((c) => !/^\d{2,12}$/.test(c)))
      fail('area codes must be 2–12 digits');
  }

  async send(request: BroadcastSendRequest): Promise<BroadcastSendReceipt> {
    this.check(request);
    const body = JSON.stringify({
      taskRef: request.taskRef,
      text: request.text,
      areaCodes: request.areaCodes,
      terminalCodes: request.terminalCodes,
      level: request.level,
      repeat: request.repeat,
      callbackUrl: request.callbackUrl,
    });
    const res = await postJson(this.tasksUrl, body, {
      what: WHAT,
      timeoutMs: this.options.timeoutMs,
      headers: { [BROADCAST_SIGNATURE_HEADER]: broadcastSignature(this.options.secret, body) },
    });
    if (res.status === 201 || res.status === 200) {
      const json = res.json as { taskId?: unknown; terminals?: unknown } | undefined;
      if (typeof json?.taskId !== 'string' || !json.taskId) {
        throw new ChannelError(
          'transient',
          'bad_answer',
          `${WHAT} accepted the task without a task id`,
        );
      }
      const terminals = Array.isArray(json.terminals)
        ? json.terminals.filter((t): t is string => typeof t === 'string')
        : [];
      return {
        providerId: json.taskId,
        status: res.status === 201 ? 'accepted' : 'already_accepted',
        terminals,
      };
    }
    const error = (res.json as { error?: unknown; message?: unknown } | undefined) ?? {};
    if (
      res.status >= 400 &&
      res.status < 500 &&
      res.status !== 429 &&
      typeof error.error === 'string'
    ) {
      // invalid_signature (our secret is wrong), invalid_request, task_ref_conflict.
      throw new ChannelError(
        'permanent',
        error.error,
        `${WHAT} refused task ${request.taskRef}: ${String(error.message ?? error.error)}`,
      );
    }
    throw httpStatusError(res, WHAT, 5_000);
  }
}
