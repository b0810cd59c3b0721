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
