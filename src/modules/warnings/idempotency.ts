import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';

/** Canonical JSON (sorted keys) so that the same body hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(route: string, body: unknown): string {
  return createHash('sha256')
    .update(`${route}\n${canonical(body)}`)
    .digest('hex');
}

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

/**
 * The first answer given for (token, key) with the same request, or a 409 for a different
 * request. Undefined when the key is new.
 */
export async function replayIdempotent(
  m: EntityManager,
  principalId: string,
  key: string,
  hash: string,
): Promise<StoredResponse | undefined> {
  const [row] = await m.query(
    `SELECT request_hash, status_code, response FROM idempotency_keys WHERE principal_id = $1 AND key = $2`,
    [principalId, key],
  );
  if (!row) return undefined;
  if (row.request_hash !== hash) {
    throw new AppException(
      ErrorCode.IdempotencyConflict,
      'Idempotency-Key 已用于另一个请求',
      'Idempotency-Key was already used with a different request',
      { fields: [{ field: 'Idempotency-Key', message: 'reused with a different body' }] },
    );
  }
  return { statusCode: row.status_code, body: row.response };
}

/** Stored in the same transaction as what it answers for: both land, or neither. */
export async function storeIdempotent(
  m: EntityManager,
  principalId: string,
  key: string,
  hash: string,
  res: StoredResponse,
): Promise<void> {
  await m.query(
    `INSERT INTO idempotency_keys (principal_id, key, request_hash, status_code, response) VALUES ($1, $2, $3, $4, $5)`,
    [principalId, key, hash, res.statusCode, JSON.stringify(res.body)],
  );
}
