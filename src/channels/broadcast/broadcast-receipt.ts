/**
 * The playback receipt the broadcast platform posts for each terminal of a task
 * (POST /webhooks/broadcast/receipts, JSON, signed with X-Broadcast-Signature; see
 * verifyBroadcastReceipt). The platform retries a receipt the gateway did not take (non-2xx), and
 * a receipt carries no timestamp of its own: record it idempotently by (taskId, terminalCode).
 */
export interface BroadcastReceiptEvent {
  taskId: string;
  /** Our `taskRef` (the attempt id we sent). */
  taskRef: string;
  terminalCode: string;
  status: 'played' | 'failed';
  /** When playback finished (absent when it failed). */
  playedAt?: Date;
  /** Times the text was played (0 when failed). */
  repeat: number;
  /** Why it failed, e.g. `terminal_offline`. */
  error?: string;
}

export class BroadcastReceiptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BroadcastReceiptError';
  }
}

/** Parses a verified receipt body; throws BroadcastReceiptError when it is not one. */
export function parseBroadcastReceipt(rawBody: string | Buffer): BroadcastReceiptEvent {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.isBuffer(rawBody) ? rawBody.toString('utf8') : rawBody);
  } catch {
    throw new BroadcastReceiptError('receipt body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BroadcastReceiptError('receipt body is not a JSON object');
  }
  const r = value as Record<string, unknown>;
  const text = (key: string): string => {
    const v = r[key];
    if (typeof v !== 'string' || !v) throw new BroadcastReceiptError(`receipt without ${key}`);
    return v;
  };
  const status = text('status');
  if (status !== 'played' && status !== 'failed') {
    throw new BroadcastReceiptError(`unknown receipt status: ${status}`);
  }
  let playedAt: Date | undefined;
  if (typeof r.playedAt === 'string') {
    playedAt = new Date(r.playedAt);
    if (Number.isNaN(playedAt.getTime())) throw new BroadcastReceiptError('playedAt is not a date');
  }
  if (status === 'played' && !playedAt)
    throw new BroadcastReceiptError('played receipt without playedAt');
  const repeat =
    typeof r.repeat === 'number' && Number.isInteger(r.repeat) && r.repeat >= 0 ? r.repeat : 0;
  return {
    taskId: text('taskId'),
    taskRef: text('taskRef'),
    terminalCode: text('terminalCode'),
    status,
    ...(playedAt ? { playedAt } : {}),
    repeat,
    ...(typeof r.error === 'string' && r.error ? { error: r.error } : {}),
  };
}
