import { checkPhone, InvalidPhoneNumberError, normalizePhone } from './phone';

describe('normalizePhone', () => {
  it.each([
    ['13812345678', '+8613812345678'],
    ['138 1234 5678', '+8613812345678'],
    ['138-1234-5678', '+8613812345678'],
    ['+86 138 1234 5678', '+8613812345678'],
    ['0086 13812345678', '+8613812345678'],
    ['8613812345678', '+8613812345678'],
    ['１３８１２３４５６７８', '+8613812345678'],
    ['  19912345678 ', '+8619912345678'],
  ])('reads the mobile %s as %s', (input, e164) => {
    expect(normalizePhone(input, 'mobile')).toBe(e164);
  });

  it.each([
    ['0837-6222222', '+868376222222'],
    ['(028) 8765 4321', '+862887654321'],
    ['010-12345678', '+861012345678'],
    ['+86 10 1234 5678', '+861012345678'],
  ])('reads the landline %s as %s', (input, e164) => {
    expect(normalizePhone(input, 'landline')).toBe(e164);
  });

  it.each([
    ['17400123456', '+8617400123456'], // 天通 (Tiantong) satellite, domestic numbering
    ['+870 773 123 456', '+870773123456'], // Inmarsat
    ['+881 6 1234 5678', '+881612345678'], // Iridium
  ])('reads the satellite number %s as %s', (input, e164) => {
    expect(normalizePhone(input, 'satellite')).toBe(e164);
  });

  it('defaults to mobile and China', () => {
    expect(normalizePhone('13912345678')).toBe('+8613912345678');
    expect(normalizePhone('650 253 0000', 'landline', 'US')).toBe('+16502530000');
  });

  it.each([
    ['', '号码为空', 'empty'],
    ['12345', '位数', 'digits'],
    ['1349000000', '位数', 'digits'],
    ['10012345678', '手机号段', 'no such number range'],
    ['abc', '只能包含数字', 'only digits'],
    ['138-1234-5678 转 801', '分机号', 'extension'],
    ['0837-6222222', '不是手机号码', 'not a mobile'],
    ['+999 1234 5678', '国家或地区代码', 'country calling code'],
  ])('refuses %j as a mobile with a clear reason', (input, zh, en) => {
    const result = checkPhone(input, 'mobile');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain('手机号码无效');
    expect(result.message).toContain(zh);
    expect(result.messageEn).toContain(en);
  });

  it('refuses a mobile given as a landline', () => {
    const result = checkPhone('13812345678', 'landline');
    expect(result).toEqual({
      ok: false,
      message: expect.stringContaining('这不是固定电话'),
      messageEn: expect.stringContaining('not a landline'),
    });
  });

  it('throws InvalidPhoneNumberError with both languages', () => {
    expect(() => normalizePhone('12', 'satellite')).toThrow(InvalidPhoneNumberError);
    try {
      normalizePhone('12', 'satellite');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidPhoneNumberError);
      expect((err as InvalidPhoneNumberError).messageZh).toContain('卫星电话无效');
      expect((err as InvalidPhoneNumberError).message).toContain('invalid satellite phone number');
    }
  });
});
