/**
 * A whole number from a config value: above 0 (or 0 too, when `zeroAllowed`), else `fallback`.
 * For services that are also built by hand (benchmarks, unit tests) with a config that was not
 * validated.
 */
export function positive(raw: unknown, fallback: number, zeroAllowed = false): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && (n > 0 || (zeroAllowed && n === 0)) ? n : fallback;
}
