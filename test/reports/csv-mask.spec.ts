import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { csvCell, csvStages, UTF8_BOM } from '../../src/modules/reports/csv';
import { CHAIN_STATE_ZH } from '../../src/modules/reports/export-values';
import type { ExportColumn } from '../../src/modules/reports/report-columns';
import { maskContact } from '../../src/modules/reports/mask';

describe('contact masking', () => {
  it('keeps the first six and last four characters of a mobile number', () => {
    expect(maskContact('+8613800000004')).toBe('+86138****0004');
    expect(maskContact('+862887654321')).toBe('+86288****4321');
    expect(maskContact('vr1@example.cn')).toBe('v***@example.cn');
    expect(maskContact('wecom-user-12345')).toBe('****2345');
    expect(maskContact(null)).toBeNull();
  });
});

describe('CSV writing', () => {
  it('neutralises formulas but leaves numbers and (masked) phone numbers alone', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`'=HYPERLINK("x")`);
    expect(csvCell('@SUM(A1)')).toBe(`'@SUM(A1)`);
    expect(csvCell('+8613800000004')).toBe('+8613800000004');
    expect(csvCell('+86138****0004')).toBe('+86138****0004');
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(null)).toBe('');
    expect(csvCell(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z');
  });

  const cols: ExportColumn<{ n: string; s: string; b: boolean }>[] = [
    { key: 'n', en: 'name', zh: '姓名', kind: 'text', value: (r) => r.n },
    {
      key: 's',
      en: 'state',
      zh: '状态',
      kind: 'text',
      value: (r) => r.s,
      zhValues: CHAIN_STATE_ZH,
    },
    { key: 'b', en: 'not_woken', zh: '未叫醒', kind: 'bool', value: (r) => r.b },
  ];
  const run = async (lang: 'zh' | 'en', rows: { n: string; s: string; b: boolean }[]) => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await pipeline(Readable.from(rows), ...csvStages(cols, lang), out);
    return Buffer.concat(chunks).toString('utf8');
  };

  it('writes a BOM and the header even with no row', async () => {
    expect(await run('en', [])).toBe(`${UTF8_BOM}name,state,not_woken\r\n`);
  });

  it('quotes separators, quotes and line breaks; translates coded values in Chinese', async () => {
    const rows = [
      { n: '王村长', s: 'confirmed', b: false },
      { n: 'a,b "x"\ny', s: 'declined', b: true },
      { n: '新', s: 'some_new_state', b: false },
    ];
    expect(await run('en', rows)).toBe(
      `${UTF8_BOM}name,state,not_woken\r\n王村长,confirmed,false\r\n"a,b ""x""\ny",declined,true\r\n新,some_new_state,false\r\n`,
    );
    expect(await run('zh', rows)).toBe(
      `${UTF8_BOM}姓名,状态,未叫醒\r\n王村长,已确认,否\r\n"a,b ""x""\ny",求助,是\r\n新,some_new_state,否\r\n`,
    );
  });
});
