import { Transform } from 'node:stream';

/** The UTF-8 byte order mark: Excel reads the file as UTF-8 only with it. */
export const UTF8_BOM = '\uFEFF';

export interface CsvColumn<R> {
  key: string;
  en: string;
  zh: string;
  value: (row: R) => unknown;
}

/** One CSV field (RFC 4180): quoted when it holds a separator, quote or line break. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (v instanceof Date) s = v.toISOString();
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  // Formula injection: a field a spreadsheet would evaluate is prefixed with a quote. Numbers and
  // (masked) phone numbers such as +86138****0004 are left as they are.
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?[0-9.]+$/.test(s) && !/^\+[0-9*]+$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(fields: unknown[]): string {
  return fields.map(csvField).join(',') + '\r\n';
}

export function csvHeader<R>(columns: CsvColumn<R>[], lang: 'zh' | 'en'): string {
  return UTF8_BOM + csvLine(columns.map((c) => (lang === 'zh' ? c.zh : c.en)));
}

/** Object rows in, CSV lines out, with back-pressure: rows are never collected. */
export function csvTransform<R>(columns: CsvColumn<R>[], map?: (row: R) => R): Transform {
  return new Transform({
    writableObjectMode: true,
    readableObjectMode: false,
    transform(row: R, _enc, done) {
      try {
        const r = map ? map(row) : row;
        done(null, csvLine(columns.map((c) => c.value(r))));
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
