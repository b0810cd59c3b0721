import { createHash, createHmac, hkdfSync } from 'node:crypto';

/**
 * The audit log's hashes, pure functions shared by the service, the migrations and the tests.
 * See docs/audit.md for the design.
 */

/** The previous hash of the very first legacy event, and the previous hash of block 1. */
export const GENESIS_HASH = '0'.repeat(64);

export interface EventContent {
  at: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  warningId: string | null;
  data: Record<string, unknown>;
}

/** JSON with object keys sorted at every depth (jsonb does not keep key order). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

/** What the stored data reads back as: plain JSON (dates as strings, no undefined). */
export function plainData(data: Record<string, unknown> | undefined): Record<string, unknown> {
  return data ? (JSON.parse(JSON.stringify(data)) as Record<string, unknown>) : {};
}

function contentBody(e: EventContent): string {
  return canonicalJson({
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    warningId: e.warningId,
    data: e.data,
  });
}

/**
 * An event's own hash (since the sealed log): its content only, computed at append without
 * reading any other row. Where the event sits in the log is fixed later by the block sealing it.
 */
export function contentHash(e: EventContent): string {
  return createHash('sha256').update('audit-event-v2\n').update(contentBody(e)).digest('hex');
}

/** The hash of an event of the legacy chain (before the sealed log): previous hash + content. */
export function legacyEventHash(prevHash: string, e: EventContent): string {
  return createHash('sha256').update(prevHash).update(contentBody(e)).digest('hex');
}

/**
 * Ids that a block's range holds no event for (sequence values of transactions that rolled back),
 * as half-open ranges [from, to), sorted and merged: the canonical text of an int8multirange.
 */
export type Gaps = [number, number][];

export function gapsText(gaps: Gaps): string {
  return `{${gaps.map(([a, b]) => `[${a},${b})`).join(',')}}`;
}

export function parseGaps(text: string): Gaps {
  const out: Gaps = [];
  for (const m of text.matchAll(/\[(\d+),(\d+)\)/g)) out.push([Number(m[1]), Number(m[2])]);
  return out;
}

/** The ids a block seals, in order: its range without its gaps. */
export function* sealedIds(firstId: number, lastId: number, gaps: Gaps): Generator<number> {
  let id = firstId;
  for (const [a, b] of gaps) {
    for (; id < a; id++) yield id;
    id = Math.max(id, b);
  }
  for (; id <= lastId; id++) yield id;
}

export interface BlockHeader {
  no: number;
  firstId: number;
  lastId: number;
  /** Events in this block. */
  events: number;
  /** Events in blocks 1..no (the log's size at this block). */
  size: number;
  gaps: Gaps;
  prevHash: string;
}

/**
 * A block's hash: its header (number, id range, gaps, sizes), the previous block's hash and the
 * 32-byte hash of every event it seals, in id order. Each block thus commits to the whole log
 * before it.
 */
export function blockHash(b: BlockHeader, eventHashes: Buffer): string {
  return createHash('sha256')
    .update(
      `audit-block-v1\n${b.no}\n${b.firstId}\n${b.lastId}\n${b.events}\n${b.size}\n${gapsText(b.gaps)}\n${b.prevHash}\n`,
    )
    .update(eventHashes)
    .digest('hex');
}

export interface Checkpoint {
  block: number;
  lastId: number;
  size: number;
  head: string;
  at: Date;
}

/** The checkpoint key: derived from APP_SECRET, never stored. */
export function checkpointKey(appSecret: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', appSecret, 'warning-gateway', 'audit checkpoint v1', 32) as ArrayBuffer,
  );
}

/** Names the key without revealing it (a checkpoint signed with another key says so). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function checkpointMessage(c: Checkpoint): string {
  return `audit-checkpoint-v1\n${c.block}\n${c.lastId}\n${c.size}\n${c.head}\n${c.at.toISOString()}`;
}

export function signCheckpoint(key: Buffer, c: Checkpoint): string {
  return createHmac('sha256', key).update(checkpointMessage(c)).digest('hex');
}
