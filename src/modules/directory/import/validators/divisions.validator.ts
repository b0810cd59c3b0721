import {
  DIVISION_LEVELS,
  type DivisionLevel,
  divisionLevelOf,
  parentDivisionCode,
} from '../../../../common/domain/directory.types';
import type { DivisionRow } from '../import-rows';
import type { SourceFile } from '../import.types';
import type { DirectoryLookup } from './directory-lookup';
import { DIVISION_CODE } from './patterns';
import { DuplicateKeys, Problems, RowReader } from './row-reader';
import type { ColumnSpec, Validated } from './validator';

export const DIVISION_COLUMNS: ColumnSpec = {
  required: ['code', 'name'],
  optional: ['level', 'parent'],
};

const LEVEL_ALIASES: Partial<Record<string, DivisionLevel>> = {
  省: 'province',
  市: 'city',
  县: 'county',
  区县: 'county',
  乡镇: 'township',
  街道: 'township',
  村: 'village',
  社区: 'village',
};

/** Level and parent follow from the code; a parent may come earlier or later in the same file. */
export async function validateDivisions(
  file: SourceFile,
  lookup: DirectoryLookup,
): Promise<Validated<DivisionRow>> {
  const problems = new Problems();
  const codes = new DuplicateKeys('code');
  const rows: DivisionRow[] = [];

  for (const source of file.rows) {
    const r = new RowReader(source, problems);
    const code = r.matching('code', DIVISION_CODE);
    const name = r.text('name', { required: true, max: 100 });
    const level = divisionLevelOf(code);
    const parentCode = level ? (parentDivisionCode(code) ?? null) : null;
    if (r.raw('level') !== null) {
      const given = r.oneOf('level', DIVISION_LEVELS, LEVEL_ALIASES);
      if (given && level && given !== level) {
        r.problem(
          'level',
          `与代码位数不符：${code} 是 ${level}`,
          `does not match the code's length: ${code} is a ${level}`,
        );
      }
    }
    const parent = r.raw('parent');
    if (parent !== null && level && parent !== parentCode) {
      r.problem(
        'parent',
        `上级应为代码前缀 ${parentCode ?? '（省级没有上级）'}：${parent}`,
        `the parent must be the code's prefix ${parentCode ?? '(a province has none)'}: ${parent}`,
      );
    }
    codes.check(r, code);
    if (level) rows.push({ row: r.row, code, name, level, parentCode });
  }

  const missingParents = rows
    .map((d) => d.parentCode)
    .filter((p): p is string => p !== null && !codes.has(p));
  const existing = await lookup.divisions(missingParents);
  for (const d of rows) {
    if (d.parentCode && !codes.has(d.parentCode) && !existing.has(d.parentCode)) {
      problems.add(
        d.row,
        'parent',
        `上级区划 ${d.parentCode} 不存在（库中和本文件中都没有）`,
        `parent division ${d.parentCode} exists neither in the directory nor in this file`,
      );
    }
  }
  return { rows, problems: problems.list };
}
