import { PassThrough } from 'node:stream';
import {
  csvField,
  csvHeader,
  csvLine,
  csvTransform,
  UTF8_BOM,
} from '../../src/modules/reports/csv';
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
  it('quotes separators, quotes and line breaks, and neutralises formulas', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "收到"')).toBe('"say ""收到"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+8613800000004')).toBe('+8613800000004');
    expect(csvField('+86138****0004')).toBe('+86138****0004');
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(null)).toBe('');
    expect(csvField(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z');
    expect(csvLine([1, '二', true])).toBe('1,二,true\r\n');
  });

  it('writes a BOM and the header in the language asked for, then one line per row', async () => {
    const cols = [{ key: 'n', en: 'name', zh: '姓名', value: (r: { n: string }) => r.n }];
    expect(csvHeader(cols, 'zh')).toBe(`${UTF8_BOM}姓名\r\n`);
    expect(csvHeader(cols, 'en')).toBe(`${UTF8_BOM}name\r\n`);
    const tr = csvTransform(cols);
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    tr.pipe(out);
    tr.write({ n: '王村长' });
    tr.end({ n: 'a,b' });
    await new Promise((r) => out.on('end', r));
    expect(chunks.join('')).toBe('王村长\r\n"a,b"\r\n');
  });
});
