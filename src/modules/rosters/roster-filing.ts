/** ROSTER_FILE_BY: the day (MM-DD) each year by which a county files its roster of people. */
export const DEFAULT_ROSTER_FILE_BY = '04-20';

/** The filing day as MM-DD; a malformed setting is refused with a message naming the variable. */
export function rosterFileBy(value: string | undefined = process.env.ROSTER_FILE_BY): string {
  const v = value?.trim() || DEFAULT_ROSTER_FILE_BY;
  const m = /^(\d{2})-(\d{2})$/.exec(v);
  const month = m ? Number(m[1]) : 0;
  const day = m ? Number(m[2]) : 0;
  if (
    !m ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > new Date(Date.UTC(2024, month, 0)).getUTCDate()
  )
    throw new Error(`ROSTER_FILE_BY must be a day of the year as MM-DD (e.g. 04-20), got "${v}"`);
  return v;
}

/** The date (YYYY-MM-DD, Beijing time) the roster must be filed by in the year of `now`. */
export function fileByDate(now = new Date(), mmdd = rosterFileBy()): string {
  const year = new Date(now.getTime() + 8 * 3600_000).getUTCFullYear();
  return `${year}-${mmdd}`;
}

/**
 * ROSTER_FILE_BY_COUNTY: counties with a filing day of their own, as `<county code>=MM-DD`
 * separated by commas (e.g. `513221=05-10,510100=04-30`); other counties file by ROSTER_FILE_BY.
 * A malformed entry is refused with a message naming the variable.
 */
export function rosterFileByCounties(
  value: string | undefined = process.env.ROSTER_FILE_BY_COUNTY,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (value ?? '').split(',').map((e) => e.trim())) {
    if (!entry) continue;
    const m = /^(\d{6})\s*=\s*(\S+)$/.exec(entry);
    let day: string | undefined;
    try {
      day = m ? rosterFileBy(m[2]) : undefined;
    } catch {
      day = undefined;
    }
    if (!m || !day)
      throw new Error(
        `ROSTER_FILE_BY_COUNTY must be <6-digit county code>=MM-DD entries separated by commas (e.g. 513221=05-10), got "${entry}"`,
      );
    if (out[m[1]]) throw new Error(`ROSTER_FILE_BY_COUNTY names county ${m[1]} twice`);
    out[m[1]] = day;
  }
  return out;
}

/** The filing day (MM-DD) of the county `code` lies in (the default for a code above counties). */
export function countyFileBy(code: string): string {
  return (
    (code.length >= 6 ? rosterFileByCounties()[code.slice(0, 6)] : undefined) ?? rosterFileBy()
  );
}
