import { firstContactSeconds } from './fanout.service';

const configured = { sms: 10, voice: 1, email: 20 };

describe('the ETA of the last first contact', () => {
  it('takes the slowest channel at its configured rate when nothing is measured', () => {
    expect(firstContactSeconds({ sms: 100, voice: 5 }, configured)).toBe(10);
  });

  it('uses the measured rate when sends go out slower than configured', () => {
    // The provider takes 2 SMS a second, not 10: 100 queued take 50 s, not 10.
    expect(firstContactSeconds({ sms: 100 }, configured, { sms: 2 })).toBe(50);
  });

  it('never promises more than the configured rate', () => {
    expect(firstContactSeconds({ sms: 100 }, configured, { sms: 50 })).toBe(10);
    expect(firstContactSeconds({}, configured, { sms: 2 })).toBe(0);
  });
});
