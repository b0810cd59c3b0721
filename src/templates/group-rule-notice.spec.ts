import { IMMINENT_RED_ALERT } from './examples';
import { renderMessage, type UnansweredPerson } from './index';

const SIG = '汶川县应急';

/** Grid 1: all three must confirm, one did; grid 2: at least two of four, one did. */
const SHORT: UnansweredPerson[] = [
  {
    name: '李网格',
    place: '渔子溪村第1网格',
    reason: 'group_silent',
    group: { rule: 'all', required: 3, total: 3, confirmed: 1, unconfirmed: ['吴监测', '周监测'] },
  },
  {
    name: '张网格',
    place: '渔子溪村第2网格',
    reason: 'group_silent',
    group: {
      rule: 'at_least',
      required: 2,
      total: 4,
      confirmed: 1,
      unconfirmed: ['甲', '乙', '丙'],
    },
  },
];

const notice = (locale: 'zh-CN' | 'en', unanswered: UnansweredPerson[]) =>
  renderMessage('escalation', {
    warning: IMMINENT_RED_ALERT,
    signature: SIG,
    locale,
    supervisor: { name: '王村长', role: '村防汛责任人' },
    unanswered,
  });

describe('the group rule notice: how many of how many confirmed, what the rule requires, who has not', () => {
  it('SMS (zh): a grid short of confirmations is not called silent', () => {
    expect(notice('zh-CN', SHORT).sms).toBe(
      '【汶川县应急】村防汛责任人王村长，叫应升级：滑坡红色临灾预警（7月10日20时30分发布），' +
        '下列2个网格确认人数未达要求：' +
        '1.渔子溪村第1网格3名责任人中仅1人确认收到（要求全部确认），未确认：吴监测、周监测；' +
        '2.渔子溪村第2网格4名责任人中仅1人确认收到（要求至少2人确认），未确认：甲、乙、丙。' +
        '请立即督促未确认的责任人确认，并组织巡查。收到请回复1。',
    );
  });

  it('call (zh)', () => {
    expect(notice('zh-CN', SHORT).voice).toBe(
      '这里是汶川县应急叫应升级电话。王村长您好。滑坡红色临灾预警（7月10日20时30分发布），' +
        '渔子溪村第1网格3名责任人中仅1人确认收到，要求全部确认，未确认的有吴监测、周监测；' +
        '渔子溪村第2网格4名责任人中仅1人确认收到，要求至少2人确认，未确认的有甲、乙、丙。' +
        '请立即督促未确认的责任人确认，并组织巡查。按1确认收到，按2请求支援',
    );
  });

  it('SMS and call (en)', () => {
    const en = notice('en', SHORT);
    expect(en.sms).toBe(
      '【汶川县应急】王村长, escalation on the Red imminent landslide warning issued at 20:30 10 Jul: ' +
        'in 2 grids fewer responsible persons have confirmed than required: ' +
        '1. 渔子溪村第1网格: only 1 of 3 responsible persons confirmed (all must confirm); not confirmed: 吴监测, 周监测; ' +
        '2. 渔子溪村第2网格: only 1 of 4 responsible persons confirmed (at least 2 must confirm); not confirmed: 甲, 乙, 丙. ' +
        'Please make those who have not confirmed confirm now and organise patrols. Reply 1 to confirm.',
    );
    expect(en.voice).toBe(
      'This is the 汶川县应急 escalation line. Hello 王村长. About the Red imminent landslide warning issued at 20:30 10 Jul: ' +
        '渔子溪村第1网格, only 1 of 3 responsible persons confirmed, all must confirm, not confirmed: 吴监测, 周监测; ' +
        '渔子溪村第2网格, only 1 of 4 responsible persons confirmed, at least 2 must confirm, not confirmed: 甲, 乙, 丙. ' +
        'Please make those who have not confirmed confirm now and organise patrols. Press 1 to confirm receipt, press 2 to request assistance',
    );
  });

  it('a grid where nobody confirmed keeps the silent-grid text, whatever its rule', () => {
    const none: UnansweredPerson = {
      name: '李网格',
      place: '渔子溪村第1网格',
      reason: 'group_silent',
      group: { rule: 'all', required: 3, total: 3, confirmed: 0, unconfirmed: ['甲', '乙', '丙'] },
    };
    const plain: UnansweredPerson = {
      name: '李网格',
      place: '渔子溪村第1网格',
      reason: 'group_silent',
    };
    expect(notice('zh-CN', [none]).sms).toBe(notice('zh-CN', [plain]).sms);
    expect(notice('zh-CN', [none]).sms).toContain(
      '下列1个网格无责任人确认收到：1.渔子溪村第1网格。',
    );
    expect(notice('en', [none]).voice).toBe(notice('en', [plain]).voice);
  });

  it('a silent grid and a short one are two sections, the silent one first; more than five names are counted', () => {
    const many: UnansweredPerson = {
      ...SHORT[0],
      group: {
        rule: 'all',
        required: 8,
        total: 8,
        confirmed: 1,
        unconfirmed: ['一', '二', '三', '四', '五', '六', '七'],
      },
    };
    const sms = notice('zh-CN', [
      many,
      { name: '赵', place: '渔子溪村第3网格', reason: 'group_silent' },
    ]).sms;
    expect(sms).toContain(
      '下列1个网格无责任人确认收到：1.渔子溪村第3网格。请立即督促网格责任人确认，并组织巡查。' +
        '下列1个网格确认人数未达要求：1.渔子溪村第1网格8名责任人中仅1人确认收到（要求全部确认），未确认：一、二、三、四、五等7人。',
    );
  });
});
