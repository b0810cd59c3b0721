import { CsvError, parse } from 'csv-parse/sync';
import type {
  ImportFormat,
  ImportProblem,
  ImportRecord,
  SourceFile,
  SourceRow,
} from './import.types';

const columnNames = new Map<string, string>();

/** `Verified At`, `verified-at` and `VERIFIED_AT` all name the column `verified_at`. */
export function normaliseColumn(name: string): string {
  let column = columnNames.get(name);
  if (column === undefined) {
    column = name
      .replace(/^\uFEFF/, '')
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_');
    if (columnNames.size < 1000) columnNames.set(name, column);
  }
  return column;
}

function isBlank(value: unknown): boolean {
  return (
    value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
  );
}

/**
 * CSV with a header row. Row N is the Nth record after the header: empty lines are not records
 * (not counted); a record of empty cells is counted and skipped.
 */
export function parseCsv(text: string): SourceFile {
  const problems: ImportProblem[] = [];
  let records: string[][];
  try {
    records = parse(text, {
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as string[][];
  } catch (err) {
    const line = err instanceof CsvError && typeof err.lines === 'number' ? err.lines : undefined;
    const reason = err instanceof Error ? err.message : String(err);
    problems.push({
      field: 'file',
      message: `无法读取 CSV${line ? `（第 ${line} 行附近）` : ''}：${reason}`,
      messageEn: `unreadable CSV${line ? ` near line ${line}` : ''}: ${reason}`,
    });
    return { rows: [], columns: new Set(), problems };
  }

  const [header, ...data] = records;
  if (!header) {
    problems.push({ field: 'file', message: '文件为空', messageEn: 'the file is empty' });
    return { rows: [], columns: new Set(), problems };
  }
  const columns = header.map(normaliseColumn);
  const seen = new Set<string>();
  columns.forEach((column, i) => {
    if (column === '') {
      problems.push({
        field: `column ${i + 1}`,
        message: `第 ${i + 1} 列没有列名`,
        messageEn: `column ${i + 1} has no name`,
      });
    } else if (seen.has(column)) {
      problems.push({ field: column, message: '列名重复', messageEn: 'duplicate column' });
    }
    seen.add(column);
  });

  const rows: SourceRow[] = [];
  data.forEach((cells, i) => {
    const row = i + 1;
    if (cells.every(isBlank)) return;
    if (cells.length !== columns.length) {
      problems.push({
        row,
        field: 'row',
        message: `应有 ${columns.length} 列，实有 ${cells.length} 列`,
        messageEn: `expected ${columns.length} cells, found ${cells.length}`,
      });
      return;
    }
    const values: Record<string, unknown> = {};
    columns.forEach((column, c) => (values[column] = cells[c]));
    rows.push({ row, values });
  });
  return { rows, columns: seen, problems };
}

/** One JSON object per line; row N is line N. Arrays of strings are accepted for list fields. */
export function parseJsonLines(text: string): SourceFile {
  const problems: ImportProblem[] = [];
  const rows: SourceRow[] = [];
  const columns = new Set<string>();
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((line, i) => {
      const row = i + 1;
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        problems.push({
          row,
          field: 'line',
          message: '不是有效的 JSON',
          messageEn: 'not valid JSON',
        });
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        problems.push({
          row,
          field: 'line',
          message: '每行应为一个 JSON 对象',
          messageEn: 'each line must be a JSON object',
        });
        return;
      }
      rows.push(fromObject(row, value as Record<string, unknown>, columns));
    });
  if (rows.length === 0 && problems.length === 0) {
    problems.push({ field: 'file', message: '文件为空', messageEn: 'the file is empty' });
  }
  return { rows, columns, problems };
}

function fromObject(row: number, object: Record<string, unknown>, columns: Set<string>): SourceRow {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const column = normaliseColumn(key);
    columns.add(column);
    values[column] =
      Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')
        ? value.join(';')
        : value;
  }
  return { row, values };
}

export function parseImportText(text: string, format: ImportFormat): SourceFile {
  return format === 'csv' ? parseCsv(text) : parseJsonLines(text);
}

/** Records handed over in code (the seed, tests): row N is records[N - 1]. */
export function fromRecords(records: readonly ImportRecord[]): SourceFile {
  const columns = new Set<string>();
  const rows = records.map((record, i) => fromObject(i + 1, record, columns));
  return { rows, columns, problems: [] };
}

/** The format a file name implies: `.jsonl` / `.ndjson` are JSON lines, anything else CSV. */
export function formatOfFile(fileName: string): ImportFormat {
  return /\.(jsonl|ndjson)$/i.test(fileName) ? 'jsonl' : 'csv';
}

const JSON_LINES_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
]);

/** The format a request's Content-Type names, or undefined if it names neither. */
export function formatOfContentType(contentType: string | undefined): ImportFormat | undefined {
  const type = contentType?.split(';')[0].trim().toLowerCase();
  if (type === 'text/csv' || type === 'text/plain') return 'csv';
  if (type && JSON_LINES_TYPES.has(type)) return 'jsonl';
  return undefined;
}
