import { maskPhones } from './mask';

describe('maskPhones', () => {
  it('masks E.164 and local numbers in provider messages', () => {
    expect(maskPhones('Twilio refused the SMS to +8613800000004: unreachable')).toBe(
      'Twilio refused the SMS to +86138****0004: unreachable',
    );
    expect(maskPhones('call 028 8765 4321 failed')).toBe('call 028876****4321 failed');
  });

  it('leaves short numbers such as error codes alone', () => {
    expect(maskPhones('HTTP 503, code 20500')).toBe('HTTP 503, code 20500');
  });
});
