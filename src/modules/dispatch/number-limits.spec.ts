import { isNight, parseNightHours, parseNumberRules } from './number-limits';

describe('carrier limits per number: configuration', () => {
  it('parses count/window rules in seconds, minutes, hours and days, and off', () => {
    expect(parseNumberRules('1/1m, 5/1h,20/1d')).toEqual([
      { max: 1, seconds: 60 },
      { max: 5, seconds: 3600 },
      { max: 20, seconds: 86_400 },
    ]);
    expect(parseNumberRules('3/30s')).toEqual([{ max: 3, seconds: 30 }]);
    expect(parseNumberRules('2/h')).toEqual([{ max: 2, seconds: 3600 }]);
    expect(parseNumberRules('off')).toEqual([]);
  });

  it('refuses a malformed rule, naming it', () => {
    expect(() => parseNumberRules('5 per hour')).toThrow('"5 per hour" is not a limit');
    expect(() => parseNumberRules('0/1m')).toThrow('"0/1m"');
  });

  it('tells night from day in China Standard Time, across midnight', () => {
    const night = parseNightHours('22-7');
    // 22:30 and 06:59 in Beijing are night; 07:00 and 21:59 are not.
    expect(isNight(new Date('2026-12-06T14:30:00Z'), night)).toBe(true);
    expect(isNight(new Date('2026-12-06T22:59:00Z'), night)).toBe(true);
    expect(isNight(new Date('2026-12-06T23:00:00Z'), night)).toBe(false);
    expect(isNight(new Date('2026-12-06T13:59:00Z'), night)).toBe(false);
    expect(isNight(new Date('2026-12-06T04:00:00Z'), parseNightHours('12-14'))).toBe(true);
    expect(() => parseNightHours('25-7')).toThrow('"25-7"');
  });
});
