import { AppException } from '../../common/errors/app.exception';
import { MAX_OFFSET } from '../../common/http/params';
import { DEFAULT_EXPORT_TIME_ZONE, isTimeZone } from './xlsx';
import {
  CHAIN_STATES,
  type ChainFilters,
  type ExportFormat,
  type ExportOptions,
  GROUP_BYS,
  type GroupBy,
  WARNING_STATUSES,
  type WarningStatus,
} from './reports.types';

/** Query-string parsing for the report routes: every bad value is a 400 naming its field. */
export function parseChainFilters(q: Record<string, unknown>): ChainFilters {
  const problems: { field: string; message: string }[] = [];
  const str = (field: string): string | undefined => {
    const v = q[field];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') {
      problems.push({ field, message: 'must be given once' });
      return undefined;
    }
    return v;
  };
  const stateRaw = str('state');
  const states = stateRaw?.split(',').map((s) => s.trim());
  if (states?.some((s) => !(CHAIN_STATES as readonly string[]).includes(s)))
    problems.push({ field: 'state', message: `must be among ${CHAIN_STATES.join(', ')}` });
  const division = str('division');
  if (division !== undefined && !/^[0-9]{2,12}$/.test(division))
    problems.push({ field: 'division', message: 'must be a division code prefix (2-12 digits)' });
  const grid = str('grid');
  if (grid !== undefined && !/^[0-9A-Za-z_-]{1,32}$/.test(grid))
    problems.push({ field: 'grid', message: 'must be a grid code' });
  const role = str('role');
  if (role !== undefined && !/^[a-z_]{1,64}$/.test(role))
    problems.push({ field: 'role', message: 'must be a role name' });
  if (problems.length) throw AppException.validation(problems);
  return { states, division, grid, role };
}

export function parsePage(
  limitRaw: unknown,
  offsetRaw: unknown,
): { limit: number; offset: number } {
  const limit = limitRaw === undefined || limitRaw === '' ? 100 : Number(limitRaw);
  const offset = offsetRaw === undefined || offsetRaw === '' ? 0 : Number(offsetRaw);
  const problems: { field: string; message: string }[] = [];
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    problems.push({ field: 'limit', message: 'must be an integer from 1 to 1000' });
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET)
    problems.push({ field: 'offset', message: `must be an integer from 0 to ${MAX_OFFSET}` });
  if (problems.length) throw AppException.validation(problems);
  return { limit, offset };
}

export function parseGroupBy(v: unknown): GroupBy {
  if (v === undefined || v === '') return 'village';
  if (typeof v === 'string' && (GROUP_BYS as readonly string[]).includes(v)) return v as GroupBy;
  throw AppException.validation([
    { field: 'groupBy', message: `must be one of ${GROUP_BYS.join(', ')}` },
  ]);
}

export function parseLang(v: unknown): 'zh' | 'en' {
  if (v === undefined || v === '' || v === 'en') return 'en';
  if (v === 'zh') return 'zh';
  throw AppException.validation([{ field: 'headers', message: 'must be zh or en' }]);
}

/**
 * How an export is written: `headers` (zh or en: the header row and the coded values) and, for
 * spreadsheets, `tz` (the IANA zone date cells show, default Asia/Shanghai; CSV times are
 * ISO 8601 in UTC).
 */
export function parseExportOptions(
  q: Record<string, unknown>,
  format: ExportFormat,
): ExportOptions {
  const lang = parseLang(q.headers);
  const tz = q.tz;
  if (tz === undefined || tz === '') return { format, lang, timeZone: DEFAULT_EXPORT_TIME_ZONE };
  if (typeof tz !== 'string' || tz.length > 64 || !isTimeZone(tz))
    throw AppException.validation([
      { field: 'tz', message: 'must be an IANA time zone such as Asia/Shanghai or UTC' },
    ]);
  return { format, lang, timeZone: tz };
}

const DAY = 24 * 3600_000;

/** from / to (ISO 8601; default the last 30 days) and status (default actual). */
export function parsePeriod(q: Record<string, unknown>): {
  from: Date;
  to: Date;
  status: WarningStatus;
} {
  const problems: { field: string; message: string }[] = [];
  const date = (field: string, fallback: Date): Date => {
    const v = q[field];
    if (v === undefined || v === '') return fallback;
    const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
    if (Number.isNaN(d.getTime())) problems.push({ field, message: 'must be an ISO 8601 time' });
    return d;
  };
  const to = date('to', new Date());
  const from = date('from', new Date(to.getTime() - 30 * DAY));
  if (!problems.length && from >= to)
    problems.push({ field: 'from', message: 'must be before to' });
  const statusRaw = q.status ?? 'actual';
  if (!(WARNING_STATUSES as readonly unknown[]).includes(statusRaw))
    problems.push({ field: 'status', message: `must be one of ${WARNING_STATUSES.join(', ')}` });
  if (problems.length) throw AppException.validation(problems);
  return { from, to, status: statusRaw as WarningStatus };
}
