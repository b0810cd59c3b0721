import {
  isHazardReportSms,
  parseHazardReportSms,
  parseHazardReportText,
} from './hazard-report-sms';

describe('SMS about hazard reports', () => {
  it('starts with 险情', () => {
    expect(isHazardReportSms(' 险情1')).toBe(true);
    expect(isHazardReportSms('1')).toBe(false);
    expect(isHazardReportSms('收到险情')).toBe(false);
  });

  it.each([
    ['险情1', { ack: true, text: '' }],
    ['险情 确认', { ack: true, text: '' }],
    ['险情：收到 1a2b3c4d', { ack: true, reportNo: '1a2b3c4d', text: '' }],
    ['险情 1 1A2B3C4D', { ack: true, reportNo: '1a2b3c4d', text: '' }],
    ['险情', { ack: false, text: '' }],
    ['险情 后山裂缝', { ack: false, text: '后山裂缝' }],
    ['险情 1组后山裂缝 约30人', { ack: false, text: '1组后山裂缝 约30人' }],
  ])('%s → %j', (body, parsed) => {
    expect(parseHazardReportSms(body)).toEqual(parsed);
  });

  it.each([
    [
      '三塘社区后山裂缝扩大 约30人',
      {
        peopleThreatened: 30,
        location: '三塘社区后山裂缝扩大',
        observed: '三塘社区后山裂缝扩大 约30人',
      },
    ],
    [
      '渔子溪村三组，房屋开裂，威胁120余人，其中老人20名',
      { peopleThreatened: 120, location: '渔子溪村三组' },
    ],
    ['后山有落石', { location: '后山有落石' }],
  ])('report text %s', (text, parsed) => {
    const got = parseHazardReportText(text);
    expect(got).toMatchObject(parsed);
    if (!('peopleThreatened' in parsed)) expect(got.peopleThreatened).toBeUndefined();
  });
});
