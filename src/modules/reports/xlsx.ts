import ExcelJS from 'exceljs';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { exportValue, type ExportLang } from './csv';
import type { CellKind, ExportColumn } from './report-columns';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The zone exports show times in unless `?tz=` says otherwise: the gateway serves China. */
export const DEFAULT_EXPORT_TIME_ZONE = 'Asia/Shanghai';

const NUM_FMT: Record<CellKind, string | undefined> = {
  // '@': the column stays text when someone types into it, too.
  text: '@',
  int: '0',
  number: '0.0',
  ratio: '0.00%',
  date: 'yyyy-mm-dd hh:mm:ss',
  bool: undefined,
};

const DEFAULT_WIDTH: Record<CellKind, number> = {
  text: 14,
  int: 10,
  number: 12,
  ratio: 10,
  date: 20,
  bool: 8,
};

/**
 * The wall-clock time of `d` in `timeZone`, as a Date whose UTC fields hold it: spreadsheet
 * date cells have no zone, and ExcelJS writes a Date's UTC fields.
 */
export function wallClock(d: Date, timeZone: string): Date {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(d);
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return new Date(
    Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) +
      d.getUTCMilliseconds(),
  );
}

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A cell's value: text columns always strings, numbers numbers, dates dates (in the zone). */
export function xlsxValue<R>(
  column: ExportColumn<R>,
  row: R,
  lang: ExportLang,
  timeZone: string,
): ExcelJS.CellValue {
  const v = exportValue(column, row, lang);
  if (v === null || v === undefined || v === '') return null;
  switch (column.kind) {
    case 'text':
      return typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : String(v);
    case 'int':
    case 'number':
    case 'ratio': {
      const x = Number(v);
      return Number.isFinite(x) ? x : String(v);
    }
    case 'date': {
      const d = v instanceof Date ? v : new Date(String(v));
      return Number.isNaN(d.getTime()) ? String(v) : wallClock(d, timeZone);
    }
    case 'bool':
      return typeof v === 'boolean' ? v : String(v);
  }
}

export interface XlsxSheet<R> {
  name: string;
  columns: ExportColumn<R>[];
  rows: Readable | AsyncIterable<R> | R[];
  map?: (row: R) => R;
}

export interface XlsxOptions {
  lang: ExportLang;
  timeZone: string;
  title: string;
  /** Label / value lines of the second sheet (what was exported, when, for whom). */
  about: [string, string | number | Date | null][];
}

/**
 * Writes a workbook to `out` as it goes (ExcelJS's streaming writer: one row in memory at a
 * time, waiting for `out` to drain), ends `out`. The data sheet has a frozen header row with a
 * filter; a second sheet says what the file holds. Cells are values only, never formulas.
 */
export async function writeXlsx<R>(
  out: Writable,
  sheet: XlsxSheet<R>,
  opts: XlsxOptions,
): Promise<number> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: true,
    useSharedStrings: false,
  });
  wb.creator = 'warning-gateway';
  wb.title = opts.title;
  wb.created = new Date();
  const header = (c: ExportColumn<R>) => (opts.lang === 'zh' ? c.zh : c.en);
  const ws = wb.addWorksheet(sheet.name, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = sheet.columns.map((c) => ({
    header: header(c),
    key: c.key,
    width: Math.max(
      c.width ?? DEFAULT_WIDTH[c.kind],
      header(c).length * (opts.lang === 'zh' ? 2 : 1) + 2,
    ),
    style: NUM_FMT[c.kind] ? { numFmt: NUM_FMT[c.kind] } : {},
  }));
  ws.getRow(1).font = { bold: true };
  ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: sheet.columns.length } };
  let count = 0;
  for await (const raw of sheet.rows as AsyncIterable<R>) {
    const row = sheet.map ? sheet.map(raw) : raw;
    ws.addRow(sheet.columns.map((c) => xlsxValue(c, row, opts.lang, opts.timeZone))).commit();
    count++;
    if (count % 200 === 0 && out.writableNeedDrain) await once(out, 'drain');
  }
  ws.commit();

  const about = wb.addWorksheet(opts.lang === 'zh' ? '说明' : 'about');
  about.columns = [
    { key: 'k', width: 22 },
    { key: 'v', width: 48, style: { numFmt: '@' } },
  ];
  const lines: [string, string | number | Date | null][] = [
    ...opts.about,
    [opts.lang === 'zh' ? '行数' : 'rows', count],
  ];
  for (const [k, v] of lines) {
    const r = about.addRow([k, v instanceof Date ? wallClock(v, opts.timeZone) : v]);
    if (v instanceof Date) r.getCell(2).numFmt = NUM_FMT.date as string;
    if (typeof v === 'number') r.getCell(2).numFmt = '0';
    r.commit();
  }
  about.commit();
  await wb.commit();
  return count;
}
