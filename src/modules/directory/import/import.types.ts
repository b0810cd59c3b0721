import type { FieldProblem } from '../../../common/errors/app.exception';

/** What a roster file can hold; one kind per file. The names are also the URL segment. */
export const IMPORT_KINDS = [
  'divisions',
  'grids',
  'people',
  'contacts',
  'hazard-points',
  'risk-zones',
  'robots',
  'broadcast-terminals',
] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

export function isImportKind(value: string): value is ImportKind {
  return (IMPORT_KINDS as readonly string[]).includes(value);
}

export type ImportFormat = 'csv' | 'jsonl';

/** One row as given: CSV cells, or the members of one JSON-lines object. */
export type ImportValue = string | number | null | undefined;
export type ImportRecord = Record<string, ImportValue>;

export interface ImportOptions {
  /** Called as rows are written (done ≤ total, total = data rows). */
  onProgress?(done: number, total: number): void;
  /** Who imports, for the audit log: the principal's token id (default 'system': CLI, seed). */
  actor?: string;
}

/**
 * Counts of the kind's main rows (divisions, people, contact points, sites …). `updated` counts
 * rows that existed and changed (for people: the row, the supervisor or the contact points; for
 * sites: the row or its links); `unchanged` rows were already exactly as given.
 */
export interface ImportResult {
  kind: ImportKind;
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * One thing wrong with a file. `row` is the 1-based data row: the CSV header is not counted
 * (row 1 is the first record after the header), and in JSON lines row N is line N. File-level
 * problems (a missing or unknown column, unreadable CSV) have no row.
 */
export interface ImportProblem extends FieldProblem {
  messageEn: string;
}

/** A row after parsing, before validation: its number and its values by (normalised) column. */
export interface SourceRow {
  row: number;
  values: Record<string, unknown>;
}

/** A parsed file: its rows, the columns it has, and any problem found while reading it. */
export interface SourceFile {
  rows: SourceRow[];
  columns: ReadonlySet<string>;
  problems: ImportProblem[];
}
