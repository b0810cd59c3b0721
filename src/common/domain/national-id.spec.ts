import {
  NATIONAL_ID_LENGTH,
  NationalIdError,
  formatNationalId,
  fromBeijingTimestamp,
  isNationalId,
  parseNationalId,
  toBeijingTimestamp,
} from './national-id';

function errorOf(fn: () => unknown): NationalIdError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NationalIdError) return e;
    throw e;
  }
  throw new Error('expected a NationalIdError');
}

describe('national warning id', () => {
  // 2024-07-10 20:30:00 Beijing time = 12:30:00 UTC
  const sentAt = new Date('2024-07-10T12:30:00Z');

  it('formats ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N in Beijing time', () => {
    const id = formatNationalId({ areaCode: '513221', agencyCode: '416', sentAt, sequence: 1 });
    expect(id).toBe('51322141600000_20240710203000_1');
    expect(id).toHaveLength(NATIONAL_ID_LENGTH);
  });

  it('uses the Beijing calendar day across UTC midnight and floors milliseconds', () => {
    const lateUtc = new Date('2024-07-10T17:05:09.987Z'); // 01:05:09 on 11 July in Beijing
    expect(
      formatNationalId({ areaCode: '510000', agencyCode: '001', sentAt: lateUtc, sequence: 0 }),
    ).toBe('51000000100000_20240711010509_0');
  });

  it('round-trips through parse', () => {
    const id = formatNationalId({ areaCode: '513221', agencyCode: '416', sentAt, sequence: 9 });
    const parsed = parseNationalId(id);
    expect(parsed).toEqual({
      id,
      areaCode: '513221',
      agencyCode: '416',
      sentAt,
      timestamp: '20240710203000',
      sequence: 9,
    });
  });

  it('accepts the national-level area code 100000', () => {
    expect(parseNationalId('10000041600000_20240101000000_1').areaCode).toBe('100000');
  });

  it('names the wrong part when formatting', () => {
    const e = errorOf(() =>
      formatNationalId({
        areaCode: '5132',
        agencyCode: '41x',
        sentAt: new Date('nope'),
        sequence: 10,
      }),
    );
    expect(e.parts.sort()).toEqual(['agencyCode', 'areaCode', 'sentAt', 'sequence']);
    expect(e.message).toMatch(/areaCode: must be 6 digits/);
  });

  it('rejects an area code that is not a GB/T 2260 province prefix', () => {
    const e = errorOf(() =>
      formatNationalId({ areaCode: '993221', agencyCode: '416', sentAt, sequence: 1 }),
    );
    expect(e.parts).toEqual(['areaCode']);
  });

  it.each([
    ['51322141600000_20240710203000', 'length'],
    ['51322141600000_20240710203000_12', 'length'],
    ['5132214160000X_20240710203000_1', 'reservedCode'],
    ['51322141612300_20240710203000_1', 'unitCode'],
    ['513221A1600000_20240710203000_1', 'agencyCode'],
    ['00322141600000_20240710203000_1', 'areaCode'],
    ['51322141600000-20240710203000_1', 'separator'],
    ['51322141600000_20240230203000_1', 'sentAt'], // 30 February
    ['51322141600000_20240710246000_1', 'sentAt'],
    ['51322141600000_20240710203000_X', 'sequence'],
  ])('rejects %s naming %s', (input, part) => {
    const e = errorOf(() => parseNationalId(input));
    expect(e.parts).toEqual([part]);
    expect(e.message).toContain(part);
    expect(isNationalId(input)).toBe(false);
  });

  it('reports several wrong parts at once', () => {
    const e = errorOf(() => parseNationalId('99322141612399_20241310203000_1'));
    expect(e.parts).toEqual(['areaCode', 'unitCode', 'reservedCode', 'sentAt']);
  });

  it('isNationalId accepts a valid id', () => {
    expect(isNationalId('51322141600000_20240710203000_1')).toBe(true);
    expect(isNationalId(42)).toBe(false);
  });

  it('Beijing timestamp helpers are inverse', () => {
    expect(toBeijingTimestamp(sentAt)).toBe('20240710203000');
    expect(fromBeijingTimestamp('20240710203000')).toEqual(sentAt);
    expect(fromBeijingTimestamp('2024071020300')).toBeNull();
  });
});
