/**
 * A whole number of at least 1 from a config value, else `fallback`. For services that are also
 * built by hand (benchmarks, unit tests) with a config that was not validated.
 */
export function wholeAtLeastOne(raw: unknown, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && raw !== null && raw !== '' && Number.isInteger(n) && n >= 1
    ? n
    : fallback;
}
