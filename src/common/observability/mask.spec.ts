import { maskLogRecord, maskPhones } from './mask';

describe('maskPhones', () => {
  it('masks E.164 and local numbers in provider messages', () => {
    expect(maskPhones('Twilio refused the SMS to +8613800000004: unreachable')).toBe(
      'Twilio refused the SMS to +86138****0004: unreachable',
    );
    expect(maskPhones('call 028 8765 4321 failed')).toBe('call 028****4321 failed');
  });

  it('leaves short numbers such as error codes alone', () => {
    expect(maskPhones('HTTP 503, code 20500')).toBe('HTTP 503, code 20500');
  });

  it('masks a bare mobile number, and leaves division and grid codes alone', () => {
    expect(maskPhones('to 13800000004 now')).toBe('to 138****0004 now');
    const codes = 'grid 511823001001001 village 511823001001 township 511823001 county 511823';
    expect(maskPhones(codes)).toBe(codes);
    expect(maskPhones('village 130102001001 grid 130102001001002')).toBe(
      'village 130102001001 grid 130102001001002',
    );
  });
});

describe('maskLogRecord', () => {
  it('leaves UUIDs, ISO times and counts alone', () => {
    const record = {
      attemptId: '36350843-b0dd-4585-b2f2-d7dd6b530b8a',
      at: '2026-11-22T13:50:59.000Z',
      msg: 'people: 102029 rows in 11590 ms',
    };
    expect(maskLogRecord(record)).toEqual(record);
  });

  it('masks numbers anywhere and drops SQL parameters, errors included', () => {
    const err = Object.assign(new Error('duplicate key (value)=(+8613800000004)'), {
      query: 'INSERT INTO contact_points …',
      parameters: ['+8613800000004', 'zhang@example.cn'],
      driverError: { detail: 'Key (value)=(+8613800000004) exists', parameters: ['x'] },
    });
    const out = maskLogRecord({ err, context: 'ImportService', to: ['+8613800000005'] });
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/13800000004|13800000005|zhang@example/);
    expect(out).toMatchObject({
      context: 'ImportService',
      to: ['+86138****0005'],
      err: {
        query: 'INSERT INTO contact_points …',
        driverError: { detail: 'Key (value)=(+86138****0004) exists' },
      },
    });
    const masked = (out as { err: Error }).err;
    expect(masked).toBeInstanceOf(Error);
    expect(masked.message).toBe('duplicate key (value)=(+86138****0004)');
    expect(masked.stack).toContain('+86138****0004');
    expect(masked.stack).not.toContain('13800000004');
  });
});
