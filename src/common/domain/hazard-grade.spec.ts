import { escalateAfterSeconds, gradeOf, mustReachCity, sweepIntervalMs } from './hazard-grade';

describe('gradeOf: 险情分级 by people to relocate', () => {
  it.each([
    [0, '小型'],
    [99, '小型'],
    [100, '中型'],
    [499, '中型'],
    [500, '大型'],
    [999, '大型'],
    [1000, '特大型'],
    [250000, '特大型'],
  ])('%i people → %s (a boundary belongs to the grade above)', (people, grade) => {
    expect(gradeOf(people)).toBe(grade);
  });

  it('特大型 and 大型 must reach the city, 中型 and 小型 not', () => {
    expect(mustReachCity('特大型')).toBe(true);
    expect(mustReachCity('大型')).toBe(true);
    expect(mustReachCity('中型')).toBe(false);
    expect(mustReachCity('小型')).toBe(false);
  });

  it('escalates after 45 minutes unless configured', () => {
    expect(escalateAfterSeconds({})).toBe(2700);
    expect(escalateAfterSeconds({ HAZARD_REPORT_ESCALATE_AFTER_SECONDS: '3' })).toBe(3);
    expect(() => escalateAfterSeconds({ HAZARD_REPORT_ESCALATE_AFTER_SECONDS: 'x' })).toThrow(
      /HAZARD_REPORT_ESCALATE_AFTER_SECONDS/,
    );
    expect(sweepIntervalMs({})).toBe(5000);
    expect(() => sweepIntervalMs({ HAZARD_REPORT_SWEEP_MS: '5' })).toThrow(
      /HAZARD_REPORT_SWEEP_MS/,
    );
  });
});
