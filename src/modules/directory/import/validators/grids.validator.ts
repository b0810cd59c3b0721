import type { GridRow } from '../import-rows';
import type { SourceFile } from '../import.types';
import type { DirectoryLookup } from './directory-lookup';
import { DIVISION_CODE, GRID_CODE } from './patterns';
import { DuplicateKeys, Problems, RowReader } from './row-reader';
import type { ColumnSpec, Validated } from './validator';

export const GRID_COLUMNS: ColumnSpec = { required: ['code', 'name', 'village'], optional: [] };

/** A grid belongs to an existing village (12 digits) and its code starts with the village's. */
export async function validateGrids(
  file: SourceFile,
  lookup: DirectoryLookup,
): Promise<Validated<GridRow>> {
  const problems = new Problems();
  const codes = new DuplicateKeys('code');
  const rows: GridRow[] = [];

  for (const source of file.rows) {
    const r = new RowReader(source, problems);
    const code = r.matching('code', GRID_CODE);
    const name = r.text('name', { required: true, max: 100 });
    const villageCode = r.matching('village', DIVISION_CODE);
    if (villageCode && villageCode.length !== 12) {
      r.problem(
        'village',
        `网格只能属于村（社区），应为 12 位代码：${villageCode}`,
        `a grid belongs to a village or community, whose code has 12 digits: ${villageCode}`,
      );
    } else if (code && villageCode && !code.startsWith(villageCode)) {
      r.problem(
        'code',
        `网格代码应以所属村代码 ${villageCode} 开头：${code}`,
        `a grid's code must start with its village's code ${villageCode}: ${code}`,
      );
    }
    codes.check(r, code);
    rows.push({ row: r.row, code, name, villageCode });
  }

  const villages = await lookup.divisions(rows.map((g) => g.villageCode));
  for (const g of rows) {
    if (g.villageCode.length === 12 && !villages.has(g.villageCode)) {
      problems.add(
        g.row,
        'village',
        `村 ${g.villageCode} 不存在`,
        `village ${g.villageCode} does not exist`,
      );
    }
  }
  return { rows, problems: problems.list };
}
