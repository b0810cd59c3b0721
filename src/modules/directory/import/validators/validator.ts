import type { ImportProblem, SourceFile } from '../import.types';
import type { DirectoryLookup } from './directory-lookup';

export interface ColumnSpec {
  required: readonly string[];
  optional: readonly string[];
}

export interface Validated<T> {
  rows: T[];
  problems: ImportProblem[];
}

/** Checks every row of one kind, including references to the database and to other rows. */
export type Validator<T> = (file: SourceFile, lookup: DirectoryLookup) => Promise<Validated<T>>;

/** File-level problems: required columns that are missing, columns nobody knows. */
export function checkColumns(columns: ReadonlySet<string>, spec: ColumnSpec): ImportProblem[] {
  const problems: ImportProblem[] = [];
  for (const column of spec.required) {
    if (!columns.has(column)) {
      problems.push({
        field: column,
        message: '缺少必需的列',
        messageEn: 'required column is missing',
      });
    }
  }
  const known = new Set([...spec.required, ...spec.optional]);
  for (const column of columns) {
    if (!known.has(column)) {
      problems.push({
        field: column,
        message: `未知的列（可用：${[...known].join(', ')}）`,
        messageEn: `unknown column (known: ${[...known].join(', ')})`,
      });
    }
  }
  return problems;
}
