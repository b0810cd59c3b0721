import { createHash } from 'node:crypto';

/**
 * Deterministic pseudo-randomness: the same seed and the same parts always give the same
 * number, so a phone number always gets the same simulated person for a given seed, and a
 * broadcast terminal always fails or always plays.
 */
export function unitFrom(seed: number, ...parts: (string | number)[]): number {
  const digest = createHash('sha256')
    .update([seed, ...parts].map(String).join('\u0000'))
    .digest();
  // 48 bits are plenty and stay exact in a double.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** A deterministic integer in [min, max]. */
export function intFrom(
  seed: number,
  min: number,
  max: number,
  ...parts: (string | number)[]
): number {
  return min + Math.floor(unitFrom(seed, ...parts) * (max - min + 1));
}

/** Picks a key of `weights` with probability proportional to its weight. */
export function weightedPick<K extends string>(u: number, weights: Record<K, number>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let acc = 0;
  for (const [key, w] of entries) {
    acc += w / total;
    if (u < acc) return key;
  }
  return entries[entries.length - 1][0];
}
