import type { ConfigService } from '@nestjs/config';
import type { DataSource } from 'typeorm';
import { isNight, NumberLimits, parseNightHours, parseNumberRules } from './number-limits';

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

describe('carrier limits per number: the planner', () => {
  const config = (env: Record<string, string>) =>
    ({ get: (k: string) => env[k] }) as unknown as ConfigService;
  const mobile = (value: string) => ({
    kind: 'mobile' as const,
    value,
    priority: 1,
    verifiedAt: null,
  });
  const call = (address: string) => ({
    channel: 'voice' as const,
    contactKind: 'mobile' as const,
    address,
  });

  /** The limits over a database that answers `sent` for the one statement it may run. */
  function limitsWith(sent: { address: string; channel: 'sms' | 'voice'; at: Date }[]) {
    const query = jest.fn().mockResolvedValue(sent);
    const db = { query } as unknown as DataSource;
    const limits = new NumberLimits(
      db,
      config({
        CARRIER_LIMITS_VOICE: '1/10m',
        CARRIER_LIMITS_SMS: 'off',
        CARRIER_NIGHT_HOURS: '22-7',
      }),
    );
    return { limits, query };
  }

  it('replaces a call onto a number whose window will be full, for a whole batch in one query', async () => {
    const now = Date.now();
    const { limits, query } = limitsWith([
      { address: '+8613800000001', channel: 'voice', at: new Date(now - 60_000) },
      { address: '+8613800000002', channel: 'voice', at: new Date(now - 60_000) },
      // Eleven minutes ago: out of the window.
      { address: '+8613800000003', channel: 'voice', at: new Date(now - 11 * 60_000) },
    ]);
    const at = new Date(now + 100_000);
    const [onlyMobile, withLandline, free] = await limits.plan([
      { contacts: [mobile('+8613800000001')], planned: [call('+8613800000001')], at },
      {
        contacts: [
          mobile('+8613800000002'),
          { kind: 'landline', value: '+862887654321', priority: 2, verifiedAt: null },
        ],
        planned: [call('+8613800000002')],
        at,
      },
      { contacts: [mobile('+8613800000003')], planned: [call('+8613800000003')], at },
    ]);
    expect(query).toHaveBeenCalledTimes(1);
    expect(onlyMobile.planned).toEqual([
      { channel: 'sms', contactKind: 'mobile', address: '+8613800000001' },
    ]);
    expect(onlyMobile.blocked[0].reason).toContain('改为短信');
    expect(withLandline.planned).toEqual([
      { channel: 'voice', contactKind: 'landline', address: '+862887654321' },
    ]);
    expect(free).toEqual({ planned: [call('+8613800000003')], blocked: [] });
  });

  it('counts what it plans against what comes after it, and says when nothing is left', async () => {
    const { limits } = limitsWith([]);
    const at = new Date();
    const [first, second] = await limits.plan([
      { contacts: [mobile('+8613800000009')], planned: [call('+8613800000009')], at },
      {
        contacts: [mobile('+8613800000009')],
        planned: [call('+8613800000009'), { ...call('+8613800000009'), channel: 'sms' }],
        at,
      },
    ]);
    expect(first.blocked).toEqual([]);
    // The second call to the number is blocked; the SMS is already planned: nothing replaces it.
    expect(second.planned).toEqual([{ ...call('+8613800000009'), channel: 'sms' }]);
    expect(second.blocked).toHaveLength(1);
    expect(second.blocked[0].replacedBy).toBeUndefined();
    expect(second.blocked[0].reason).toContain('无其他可用联系方式');
  });

  it('reads nothing when no long window is configured', async () => {
    const query = jest.fn();
    const limits = new NumberLimits(
      { query } as unknown as DataSource,
      config({ CARRIER_LIMITS_VOICE: '1/1m', CARRIER_LIMITS_SMS: 'off' }),
    );
    const planned = [call('+8613800000001')];
    const [r] = await limits.plan([{ contacts: [], planned, at: new Date() }]);
    expect(r).toEqual({ planned, blocked: [] });
    expect(query).not.toHaveBeenCalled();
  });
});
