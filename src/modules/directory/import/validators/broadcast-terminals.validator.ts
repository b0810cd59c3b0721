import type { BroadcastTerminalRow } from '../import-rows';
import type { SourceFile } from '../import.types';
import type { DirectoryLookup } from './directory-lookup';
import { CODE, DIVISION_CODE } from './patterns';
import { DuplicateKeys, Problems, RowReader } from './row-reader';
import type { ColumnSpec, Validated } from './validator';

export const BROADCAST_TERMINAL_COLUMNS: ColumnSpec = {
  required: ['code', 'name', 'division'],
  optional: [],
};

/** Village loudspeakers (村村响) of the emergency broadcast platform, by the platform's code. */
export async function validateBroadcastTerminals(
  file: SourceFile,
  lookup: DirectoryLookup,
): Promise<Validated<BroadcastTerminalRow>> {
  const problems = new Problems();
  const codes = new DuplicateKeys('code');
  const rows: BroadcastTerminalRow[] = [];

  for (const source of file.rows) {
    const r = new RowReader(source, problems);
    const code = r.matching('code', CODE);
    const name = r.text('name', { required: true, max: 200 });
    const divisionCode = r.matching('division', DIVISION_CODE);
    codes.check(r, code);
    rows.push({ row: r.row, code, name, divisionCode });
  }

  const divisions = await lookup.divisions(rows.map((t) => t.divisionCode));
  for (const t of rows) {
    if (t.divisionCode && !divisions.has(t.divisionCode)) {
      problems.add(
        t.row,
        'division',
        `区划 ${t.divisionCode} 不存在`,
        `division ${t.divisionCode} does not exist`,
      );
    }
  }
  return { rows, problems: problems.list };
}
