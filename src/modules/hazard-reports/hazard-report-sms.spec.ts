import { isHazardReportSms, parseHazardReportSms } from './hazard-report-sms';

describe('SMS about hazard reports', () => {
  it('starts with 险情', () => {
    expect(isHazardReportSms(' 险情1')).toBe(true);
    expect(isHazardReportSms('1')).toBe(false);
    expect(isHazardReportSms('收到险情')).toBe(false);
  });

  it.each([
    ['险情1', { ack: true }],
    ['险情 确认', { ack: true }],
    ['险情：收到 1a2b3c4d', { ack: true, reportNo: '1a2b3c4d' }],
    ['险情 1 1A2B3C4D', { ack: true, reportNo: '1a2b3c4d' }],
    ['险情', { ack: false }],
    ['险情 后山裂缝', { ack: false }],
  ])('%s → %j', (body, parsed) => {
    expect(parseHazardReportSms(body)).toEqual(parsed);
  });
});
