import { reportEscalationSms, reportNoticeSms } from './hazard-report';

const ctx = {
  reportId: '1a2b3c4d-0000-4000-8000-000000000000',
  placeName: '汶川县映秀镇渔子溪村渔子溪滑坡隐患点',
  grade: '大型' as const,
  peopleThreatened: 600,
  observed: '后山出现长约50米的裂缝',
  reporterName: '李网格',
  reporterPhone: '+8613800000002',
  cityDeadline: new Date('2026-07-01T12:30:00Z'),
};

describe('hazard report texts', () => {
  it('name the place, grade, people, the deadline (Beijing time) and how to acknowledge', () => {
    const sms = reportNoticeSms(ctx);
    expect(sms).toContain('渔子溪滑坡隐患点');
    expect(sms).toContain('大型');
    expect(sms).toContain('威胁600人');
    expect(sms).toContain('20:30前报至市级');
    expect(sms).toContain('险情1');
    expect(sms).toContain('1a2b3c4d');
    expect(reportNoticeSms({ ...ctx, cityDeadline: undefined })).not.toContain('市级');
  });

  it('the escalation says how long the city has been silent', () => {
    const sms = reportEscalationSms({ ...ctx, minutes: 45 });
    expect(sms).toContain('催报');
    expect(sms).toContain('已上报45分钟');
    expect(sms).toContain('市级值班室尚未确认接报');
  });

  it('carry the signed acknowledgement link when the notice has one', () => {
    const ackUrl = 'https://gw.example.cn/c/h/abc.def';
    expect(reportNoticeSms({ ...ctx, ackUrl })).toContain(`点击${ackUrl} 确认接报`);
    expect(reportEscalationSms({ ...ctx, minutes: 45, ackUrl })).toContain(ackUrl);
    expect(reportNoticeSms(ctx)).not.toContain('点击');
  });

  it('the reminder to the county’s responsible persons does not ask them to acknowledge', () => {
    const sms = reportEscalationSms({ ...ctx, minutes: 45, informOnly: true });
    expect(sms).toContain('请督促接报并组织处置');
    expect(sms).not.toContain('险情1');
  });
});
