import type { ImportRecord } from '../../src/modules/directory/import/import.types';
import { generateCounty } from '../../src/modules/directory/seed/county-generator';
import { type ImportHarness, openImportHarness } from '../fixtures/import/harness';

const PEOPLE = 100_000;
const COLUMNS = [
  'id',
  'name',
  'role',
  'division',
  'grid',
  'supervisor',
  'title',
  'mobile',
  'landline',
  'email',
];

function csvCell(value: ImportRecord[string]): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(records: ImportRecord[]): string {
  const lines = [COLUMNS.join(',')];
  for (const r of records) lines.push(COLUMNS.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/** Timings go to the log only: machines differ, so nothing here asserts on them. */
function logTiming(label: string, rows: number, ms: number): void {
  process.stderr.write(
    `[import-bulk] ${label}: ${rows} rows in ${ms} ms (${Math.round((rows / ms) * 1000)} rows/s)\n`,
  );
}

describe('bulk import of 100k people (real Postgres)', () => {
  let h: ImportHarness;
  let csv: string;
  let rows: number;

  beforeAll(async () => {
    h = await openImportHarness('import_bulk');
    const county = generateCounty({ countyCode: '513221', residents: PEOPLE, seed: 11 });
    await h.imports.importRecords('divisions', county.divisions);
    await h.imports.importRecords('grids', county.grids);
    // Officials after the residents and bottom-up, so every supervisor comes later in the file.
    const people = [...[...county.residents(PEOPLE)].flat(), ...[...county.officials].reverse()];
    rows = people.length;
    csv = toCsv(people);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('imports a file of about 100k people in one transaction', async () => {
    const started = Date.now();
    const result = await h.imports.importText('people', csv, 'csv');
    logTiming('first import', rows, Date.now() - started);

    expect(rows).toBeGreaterThanOrEqual(PEOPLE);
    expect(result).toEqual({ kind: 'people', rows, inserted: rows, updated: 0, unchanged: 0 });
    const [counts] = await h.ds.query(`SELECT
      (SELECT count(*)::int FROM people) AS people,
      (SELECT count(*)::int FROM people WHERE supervisor_id IS NOT NULL) AS supervised,
      (SELECT count(*)::int FROM people WHERE role <> 'resident') AS officials,
      (SELECT count(*)::int FROM contact_points WHERE kind = 'mobile') AS mobiles`);
    expect(counts.people).toBe(rows);
    expect(counts.supervised).toBe(counts.officials - 1); // all but the duty officer
    expect(counts.mobiles).toBe(rows - counts.officials); // officials' cells are empty here
  }, 600_000);

  it('re-imports the same file without changing anything', async () => {
    const started = Date.now();
    const result = await h.imports.importText('people', csv, 'csv');
    logTiming('re-import', rows, Date.now() - started);
    expect(result).toEqual({ kind: 'people', rows, inserted: 0, updated: 0, unchanged: rows });
  }, 600_000);
});
