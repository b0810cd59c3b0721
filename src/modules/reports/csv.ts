import { stringify } from 'csv-stringify';
import { Transform } from 'node:stream';
import { labelOf, YES_NO_ZH } from './export-values';
import type { ExportColumn } from './report-columns';

/** The UTF-8 byte order mark: Excel reads the file as UTF-8 only with it. */
export const UTF8_BOM = '\uFEFF';

export type ExportLang = 'zh' | 'en';

/**
 * A column's value for a row in the language asked for: in Chinese, coded values (states,
 * channels, roles, reasons) become their labels and booleans 是 / 否.
 */
export function exportValue<R>(column: ExportColumn<R>, row: R, lang: ExportLang): unknown {
  const v = column.value(row);
  if (lang !== 'zh' || v === null || v === undefined) return v;
  if (column.kind === 'bool' && typeof v === 'boolean') return YES_NO_ZH[`${v}`];
  return column.zhValues ? labelOf(column.zhValues, v) : v;
}

/**
 * One CSV field's text. Dates are ISO 8601 (UTC). A field a spreadsheet would evaluate as a
 * formula (=, +, -, @, tab, CR first) is prefixed with a quote; numbers and (masked) phone
 * numbers such as +86138****0004 are left as they are. Quoting is csv-stringify's.
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (v instanceof Date) s = v.toISOString();
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?[0-9.]+$/.test(s) && !/^\+[0-9*]+$/.test(s)) s = `'${s}`;
  return s;
}

/**
 * Object rows in, CSV text out (RFC 4180, CRLF, UTF-8 with BOM, header row in the language
 * asked for), with back-pressure: rows are never collected. The two stages go into one
 * `pipeline(rows, ...csvStages(...), out)`; the header (and BOM) are written even with no row.
 */
export function csvStages<R>(
  columns: ExportColumn<R>[],
  lang: ExportLang,
  map?: (row: R) => R,
): [Transform, Transform] {
  const toFields = new Transform({
    objectMode: true,
    transform(row: R, _enc, done) {
      try {
        const r = map ? map(row) : row;
        done(
          null,
          columns.map((c) => csvCell(exportValue(c, r, lang))),
        );
      } catch (err) {
        done(err as Error);
      }
    },
  });
  const toText = stringify({
    bom: true,
    header: true,
    columns: columns.map((c) => (lang === 'zh' ? c.zh : c.en)),
    record_delimiter: 'windows',
  });
  return [toFields, toText];
}
