import { AppException, ErrorCode } from '../../../common/errors/app.exception';
import type { ImportProblem } from './import.types';

/** A report longer than this is cut; `problemCount` still says how many there were. */
export const MAX_REPORTED_PROBLEMS = 1000;

/**
 * The 422 for a file with any bad row. Details: `rows` (the problems, file-level first, then by
 * row), `total` (data rows in the file), `badRows`, `problemCount` and `truncated`.
 */
export function importRejected(problems: readonly ImportProblem[], total: number): AppException {
  const sorted = [...problems].sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
  const badRows = new Set(sorted.flatMap((p) => (p.row === undefined ? [] : [p.row]))).size;
  return new AppException(
    ErrorCode.ImportRejected,
    '导入文件有误，未写入任何数据',
    'Import file rejected; nothing was written',
    {
      rows: sorted.slice(0, MAX_REPORTED_PROBLEMS),
      total,
      badRows,
      problemCount: sorted.length,
      truncated: sorted.length > MAX_REPORTED_PROBLEMS,
    },
  );
}

/** The problems of a rejected import, or undefined for any other error. */
export function rejectedProblems(err: unknown): ImportProblem[] | undefined {
  if (!(err instanceof AppException) || err.code !== ErrorCode.ImportRejected) return undefined;
  return (err.details?.rows as ImportProblem[] | undefined) ?? [];
}
