import { evaluateGroupRule, toGroupConfirm } from './escalation-policy.types';

describe('the group rule of a grid: one, all, or N of M confirmed', () => {
  it('one: a single confirmation answers for the grid', () => {
    expect(evaluateGroupRule({ rule: 'one' }, 3, 0)).toEqual({
      required: 1,
      total: 3,
      confirmed: 0,
      met: false,
    });
    expect(evaluateGroupRule({ rule: 'one' }, 3, 1)).toMatchObject({ required: 1, met: true });
  });

  it('all: every responsible person of the grid', () => {
    expect(evaluateGroupRule({ rule: 'all' }, 3, 2)).toEqual({
      required: 3,
      total: 3,
      confirmed: 2,
      met: false,
    });
    expect(evaluateGroupRule({ rule: 'all' }, 3, 3)).toMatchObject({ met: true });
  });

  it('at_least N: N of them, or all of them when the grid has fewer than N', () => {
    expect(evaluateGroupRule({ rule: 'at_least', count: 2 }, 3, 1)).toMatchObject({
      required: 2,
      met: false,
    });
    expect(evaluateGroupRule({ rule: 'at_least', count: 2 }, 3, 2)).toMatchObject({
      required: 2,
      met: true,
    });
    expect(evaluateGroupRule({ rule: 'at_least', count: 5 }, 3, 2)).toMatchObject({
      required: 3,
      met: false,
    });
    expect(evaluateGroupRule({ rule: 'at_least', count: 5 }, 3, 3)).toMatchObject({
      required: 3,
      met: true,
    });
  });

  it('a stored or absent rule reads as one of the three shapes, one by default', () => {
    expect(toGroupConfirm(undefined)).toEqual({ rule: 'one' });
    expect(toGroupConfirm(null)).toEqual({ rule: 'one' });
    expect(toGroupConfirm({ rule: 'all' })).toEqual({ rule: 'all' });
    expect(toGroupConfirm({ rule: 'at_least', count: 2 })).toEqual({ rule: 'at_least', count: 2 });
  });
});
