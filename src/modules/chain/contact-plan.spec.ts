import type { RecipientContact } from '../../common/domain/targeting.types';
import { planFailover, planNotice, planStep } from './contact-plan';

const mobile: RecipientContact = {
  kind: 'mobile',
  value: '+8613800000001',
  priority: 1,
  verifiedAt: null,
};
const landline: RecipientContact = {
  kind: 'landline',
  value: '+862887654321',
  priority: 2,
  verifiedAt: null,
};
const email: RecipientContact = {
  kind: 'email',
  value: 'a@example.cn',
  priority: 3,
  verifiedAt: null,
};

const policy = {
  steps: [
    { channels: ['sms', 'voice'] as const, waitSeconds: 180 },
    { channels: ['email'] as const, waitSeconds: 600 },
  ],
};

describe('the step planner (a plain function)', () => {
  it('plans one attempt per channel of the step, to the first contact point each can use', () => {
    expect(planStep(policy as never, 0, [mobile, landline, email])).toEqual([
      { channel: 'sms', contactKind: 'mobile', address: mobile.value },
      { channel: 'voice', contactKind: 'mobile', address: mobile.value },
    ]);
  });

  it('reaches someone with only a landline by voice, even on a step without voice', () => {
    expect(planStep(policy as never, 1, [landline])).toEqual([
      { channel: 'voice', contactKind: 'landline', address: landline.value },
    ]);
    // E-mail alone is not enough to stand for a step: a call is added when there is a number.
    expect(planStep(policy as never, 1, [landline, email])).toEqual([
      { channel: 'email', contactKind: 'email', address: email.value },
      { channel: 'voice', contactKind: 'landline', address: landline.value },
    ]);
  });

  it('plans nothing past the last step or for someone without contact points', () => {
    expect(planStep(policy as never, 2, [mobile])).toEqual([]);
    expect(planStep(policy as never, 0, [])).toEqual([]);
  });

  it('fails over to a contact point not tried yet, and a notice takes one short message', () => {
    expect(
      planFailover(
        { channel: 'sms', address: mobile.value },
        [mobile, landline],
        [{ channel: 'sms', address: mobile.value }],
      ),
    ).toEqual({ channel: 'voice', contactKind: 'landline', address: landline.value });
    expect(planNotice([landline, email])).toEqual([
      { channel: 'voice', contactKind: 'landline', address: landline.value },
    ]);
  });
});
