import {
  formatOfContentType,
  formatOfFile,
  fromRecords,
  parseCsv,
  parseJsonLines,
} from './import-parser';

describe('import parsing', () => {
  it("numbers CSV rows from the first record after the header, keeping blank rows' numbers", () => {
    const file = parseCsv(
      '\uFEFFCode, Village Code ,name\r\nA,1,"x, y"\r\n\r\n,,\r\nB,2,"two\nlines"\r\n',
    );
    expect([...file.columns]).toEqual(['code', 'village_code', 'name']);
    expect(file.rows).toEqual([
      { row: 1, values: { code: 'A', village_code: '1', name: 'x, y' } },
      { row: 3, values: { code: 'B', village_code: '2', name: 'two\nlines' } },
    ]);
    expect(file.problems).toEqual([]);
  });

  it('reports rows with the wrong number of cells, duplicate columns and unreadable CSV', () => {
    expect(parseCsv('a,b\n1\n1,2\n').problems).toEqual([
      expect.objectContaining({ row: 1, field: 'row', messageEn: 'expected 2 cells, found 1' }),
    ]);
    expect(parseCsv('a,A\n1,2\n').problems).toEqual([
      expect.objectContaining({ field: 'a', messageEn: 'duplicate column' }),
    ]);
    const broken = parseCsv('a,b\n1,"2\n');
    expect(broken.rows).toEqual([]);
    expect(broken.problems[0]).toMatchObject({ field: 'file' });
    expect(broken.problems[0].row).toBeUndefined();
    expect(parseCsv('').problems).toEqual([expect.objectContaining({ field: 'file' })]);
  });

  it('reads JSON lines: row N is line N, arrays become ;-lists', () => {
    const file = parseJsonLines(
      '{"code":"A","grids":["g1","g2"],"n":3}\n\n{"Code":"B"}\nnot json\n[1]\n',
    );
    expect(file.rows).toEqual([
      { row: 1, values: { code: 'A', grids: 'g1;g2', n: 3 } },
      { row: 3, values: { code: 'B' } },
    ]);
    expect(file.problems.map((p) => [p.row, p.field])).toEqual([
      [4, 'line'],
      [5, 'line'],
    ]);
    expect([...file.columns]).toEqual(['code', 'grids', 'n']);
  });

  it('takes records from code with the same column rules', () => {
    const file = fromRecords([
      { Id: 'x', name: null },
      { id: 'y', title: 'z' },
    ]);
    expect(file.rows.map((r) => r.row)).toEqual([1, 2]);
    expect([...file.columns]).toEqual(['id', 'name', 'title']);
  });

  it('picks the format from file names and content types', () => {
    expect(formatOfFile('people.csv')).toBe('csv');
    expect(formatOfFile('people.JSONL')).toBe('jsonl');
    expect(formatOfFile('people.ndjson')).toBe('jsonl');
    expect(formatOfContentType('text/csv; charset=utf-8')).toBe('csv');
    expect(formatOfContentType('application/x-ndjson')).toBe('jsonl');
    expect(formatOfContentType('application/json')).toBeUndefined();
    expect(formatOfContentType(undefined)).toBeUndefined();
  });
});
