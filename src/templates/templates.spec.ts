import {
  LEVEL_NAMES_ZH,
  MESSAGE_TYPES,
  WARNING_KINDS,
  WarningContent,
} from '../common/domain/warning.types';
import {
  IMMINENT_CANCEL,
  IMMINENT_ORANGE_ALERT,
  IMMINENT_RED_ALERT,
  IMMINENT_RED_UPDATE,
  METEO_YELLOW_ALERT,
  METEO_YELLOW_CANCEL,
} from './examples';
import {
  CHANNELS,
  ChannelContexts,
  KEYPRESS_PROMPT_EN,
  KEYPRESS_PROMPT_ZH,
  LOCALES,
  renderMessage,
  resolveTemplate,
  ROBOT_MARKDOWN_BYTE_LIMITS,
  RobotMention,
  TemplateNotFoundError,
  utf8Bytes,
} from './index';
import * as format from './format';
import { joinPlaceName } from './format';
import * as segments from './sms-segments';
import { analyzeSms, countSmsSegments } from './sms-segments';

const SIG = '汶川县应急';
const cp = (s: string): number => Array.from(s).length;
const updateCtx = {
  warning: IMMINENT_RED_UPDATE,
  signature: SIG,
  previous: { level: IMMINENT_ORANGE_ALERT.level, areas: IMMINENT_ORANGE_ALERT.areas },
};

/** Legally required elements: category, level, start time, area, what to watch, measures, issuer. */
function expectRequiredElementsZh(text: string, w: WarningContent): void {
  expect(text).toContain(w.kind === 'imminent' ? '临灾预警' : '地质灾害气象风险预警'); // category
  expect(text).toMatch(/红色（一级）|橙色（二级）|黄色（三级）|蓝色（四级）/); // level
  expect(text).toMatch(/\d+月\d+日\d+时/); // start time, Beijing time
  expect(text).toContain(w.areas[0]!.name.replace(/^汶川县映秀镇/, '')); // area
  expect(text).toContain(w.description.slice(0, 10)); // what to watch
  expect(text).toContain(w.instruction.slice(0, 10)); // measures
  expect(text).toContain(w.issuer.name); // issuing authority
}

describe('sms', () => {
  it('red imminent landslide warning for 汶川县映秀镇 with 12 villages: short form is one segment', () => {
    const { short, shortSegments, shortFits } = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
    });
    expect(short).toBe(
      '【汶川县应急】滑坡红色临灾预警：汶川县映秀镇渔子溪村、中滩堡村、张家坪村等预计22时前后可能发生滑坡，请立即撤离至映秀镇小学。回复1确认',
    );
    expect(shortSegments).toBe(1);
    expect(shortFits).toBe(true);
    expect(cp(short)).toBeLessThanOrEqual(70);
    expect(countSmsSegments(short)).toBe(1);
  });

  it('long form carries every legally required element and the reply codes', () => {
    const { long, longSegments } = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      recipient: { name: '李四', role: '网格员', confirmUrl: 'https://ack.example.cn/c/abc' },
    });
    expect(
      long.startsWith('【汶川县应急】网格员李四：汶川县自然资源局发布滑坡红色临灾预警。'),
    ).toBe(true);
    expectRequiredElementsZh(long, IMMINENT_RED_ALERT);
    expect(long).toContain('预计发生时间：2024年7月10日22时前后');
    expect(long).toContain('威胁对象：120户356人');
    expect(long).toContain('避险场所：映秀镇小学');
    expect(long).toContain('收到请回复1确认，需要支援请回复2。');
    expect(long).toContain('https://ack.example.cn/c/abc');
    expect(longSegments).toBe(countSmsSegments(long));
    expect(longSegments).toBeGreaterThan(1);
  });

  it('stays in one segment with very long place names, never cutting signature or level', () => {
    const longNames = Array.from({ length: 30 }, (_, i) => ({
      code: `513221100${300 + i}`,
      name: `阿坝藏族羌族自治州汶川县映秀镇第${i + 1}个名字特别特别长的行政村村民小组`,
    }));
    for (const signature of [SIG, '汶川县应急管理局防汛办']) {
      const { short, shortSegments } = renderMessage('sms', {
        warning: { ...IMMINENT_RED_ALERT, areas: longNames },
        signature,
      });
      expect(shortSegments).toBe(1);
      expect(cp(short)).toBeLessThanOrEqual(70);
      expect(short.startsWith(`【${signature}】滑坡红色`)).toBe(true);
      expect(short).toMatch(/临灾预警：映秀镇等地/);
      expect(short).toContain('请立即撤离');
    }
    const { short } = renderMessage('sms', {
      warning: { ...IMMINENT_RED_ALERT, areas: longNames },
      signature: SIG,
    });
    expect(short).toBe(
      '【汶川县应急】滑坡红色（一级）临灾预警：映秀镇等地预计22时前后可能发生滑坡，请立即撤离至映秀镇小学。回复1确认',
    );
  });

  it('keeps the reply instruction before extra places, and drops it before the level', () => {
    const { short } = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: '汶川县应急管理局防汛办',
    });
    expect(short).toBe(
      '【汶川县应急管理局防汛办】滑坡红色临灾预警：汶川县映秀镇渔子溪村、中滩堡村等预计22时前后可能发生滑坡，请立即撤离至映秀镇小学。回复1确认',
    );
    // A longer signature: the reply instruction stays, the place is shortened to its own name.
    const longer = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: '汶川县应急管理局地质灾害防治指挥部办公室',
    });
    expect(longer.short).toBe(
      '【汶川县应急管理局地质灾害防治指挥部办公室】滑坡红色临灾预警：渔子溪村等预计22时前后可能发生滑坡，请立即撤离至映秀镇小学。回复1确认',
    );
    expect(countSmsSegments(longer.short)).toBe(1);
    const huge = renderMessage('sms', { warning: IMMINENT_RED_ALERT, signature: '很'.repeat(45) });
    expect(huge.shortSegments).toBe(1);
    expect(huge.shortFits).toBe(true);
    expect(huge.short).toBe(`【${'很'.repeat(45)}】滑坡红色临灾预警：渔子溪村等请立即撤离。`);
    const absurd = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: '很'.repeat(70),
    });
    expect(absurd.shortFits).toBe(false);
  });

  it('counts a rare astral character in a village name as two units when fitting', () => {
    const areas = [
      { code: '513221100299', name: `${'𠮷'.repeat(10)}村` },
      ...IMMINENT_RED_ALERT.areas,
    ];
    const { short } = renderMessage('sms', {
      warning: { ...IMMINENT_RED_ALERT, areas },
      signature: SIG,
    });
    expect(analyzeSms(short, { unit: 'utf16' }).segments).toBe(1);
  });

  it('yellow meteorological risk warning', () => {
    const { short, long } = renderMessage('sms', {
      warning: METEO_YELLOW_ALERT,
      signature: '阿坝州应急',
    });
    expect(short).toBe(
      '【阿坝州应急】地质灾害气象风险黄色预警（三级）：20时至10日20时，汶川县、理县、茂县地质灾害风险较高，请注意巡查防范。回复1确认',
    );
    expect(countSmsSegments(short)).toBe(1);
    expectRequiredElementsZh(long, METEO_YELLOW_ALERT);
    expect(long).toContain('预警时段：7月9日20时至10日20时');
  });

  it('update: level raised', () => {
    const { short, long } = renderMessage('sms', updateCtx);
    expect(short).toMatch(/^【汶川县应急】滑坡临灾预警(由橙色)?升级为红色：/);
    expect(countSmsSegments(short)).toBe(1);
    expect(long).toContain(
      '变更内容：预警等级由橙色（二级）提升为红色（一级）；新增汶川县映秀镇枫香树村',
    );
    const lowered = renderMessage('sms', {
      warning: { ...IMMINENT_RED_UPDATE, level: 'yellow' },
      signature: SIG,
      previous: { level: 'orange' },
    });
    expect(lowered.short.startsWith('【汶川县应急】滑坡临灾预警由橙色降为黄色：')).toBe(true);
    const unknown = renderMessage('sms', { warning: IMMINENT_RED_UPDATE, signature: SIG });
    expect(unknown.short.startsWith('【汶川县应急】滑坡红色临灾预警更新：')).toBe(true);
  });

  it('cancel (解除)', () => {
    const { short, long } = renderMessage('sms', { warning: IMMINENT_CANCEL, signature: SIG });
    expect(short.startsWith('【汶川县应急】解除滑坡红色临灾预警（汶川县映秀镇渔子溪村、')).toBe(
      true,
    );
    expect(short).toContain('撤离群众须确认安全后再返回');
    expect(countSmsSegments(short)).toBe(1);
    expect(long).toContain('汶川县自然资源局于7月10日20时30分发布的滑坡红色临灾预警现予解除');
    expect(long).toContain('解除时间：2024年7月12日9时');
    const meteo = renderMessage('sms', { warning: METEO_YELLOW_CANCEL, signature: '阿坝州应急' });
    // The cancel's own reason, then what to do after a release.
    expect(meteo.short).toBe(
      '【阿坝州应急】解除地质灾害气象风险黄色预警（汶川县、理县、茂县）：强降雨过程已经结束，请继续关注天气变化。回复1确认',
    );
  });

  it('the short form names nobody and links nothing: the same text for every resident', () => {
    // MessageRenderer renders it once per version for all residents (see its residentForms).
    const cases = [
      { warning: IMMINENT_RED_ALERT },
      { warning: IMMINENT_RED_UPDATE, previous: updateCtx.previous },
      { warning: IMMINENT_CANCEL },
      { warning: METEO_YELLOW_ALERT },
      { warning: METEO_YELLOW_CANCEL },
    ];
    for (const locale of LOCALES) {
      for (const c of cases) {
        const nobody = renderMessage('sms', { ...c, signature: SIG, locale });
        const recipient = { name: '王小明', role: '群众', confirmUrl: 'https://gw.example/c/abc' };
        const someone = renderMessage('sms', { ...c, signature: SIG, locale, recipient });
        expect(someone.short).toBe(nobody.short);
        expect(someone.shortFits).toBe(nobody.shortFits);
        expect(someone.short).not.toContain('王小明');
        expect(someone.short).not.toContain('/c/abc');
        // The long form is the one that is the person's own.
        expect(someone.long).toContain('王小明');
        expect(someone.long).toContain('https://gw.example/c/abc');
      }
    }
  });

  it('English variants fit one UCS-2 segment (the 【】 signature makes them UCS-2)', () => {
    const places = ['Yuzixi', 'Zhongtanbao', 'Zhangjiaping'];
    const alert = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: 'Wenchuan EM',
      locale: 'en',
      places,
    });
    // Place, time and shelter, as in Chinese (before: …Yuzixi etc ~22:00. Evacuate now.); a
    // Latin place name this long costs the "now", never the reply instruction.
    expect(alert.short).toBe(
      '【Wenchuan EM】Red landslide: Yuzixi etc ~22:00. Go to 映秀镇小学. Reply 1',
    );
    expect(analyzeSms(alert.short)).toMatchObject({ encoding: 'UCS-2', segments: 1 });
    expect(alert.long).toContain('Level: Red (Level I)');
    expect(alert.long).toContain('Issued at: 20:30 10 Jul 2024 (Beijing time)');
    expect(alert.long).toContain('Reply 1 to confirm receipt, 2 if you need help.');
    const meteo = renderMessage('sms', {
      warning: METEO_YELLOW_ALERT,
      signature: 'Aba EM',
      locale: 'en',
      places,
    });
    expect(meteo.shortSegments).toBe(1);
    expect(meteo.short).toContain('Yellow geohazard risk');
    const update = renderMessage('sms', { ...updateCtx, signature: 'WC EM', locale: 'en', places });
    expect(update.short).toBe(
      '【WC EM】Landslide→Red: Yuzixi etc ~22:00. Go to 映秀镇小学 now. Reply 1',
    );
    expect(update.shortSegments).toBe(1);
    const cancel = renderMessage('sms', {
      warning: IMMINENT_CANCEL,
      signature: 'WC EM',
      locale: 'en',
      places,
    });
    expect(cancel.short).toMatch(/^【WC EM】Cancelled: Red landslide warning \(Yuzixi[^)]*\)/);
    expect(cancel.shortSegments).toBe(1);
  });

  it('English imminent short SMS: place, time and shelter, the place never cut', () => {
    const drill = { ...IMMINENT_RED_ALERT, status: 'exercise' as const };
    const en = (warning: WarningContent, signature = 'Wenchuan EM') =>
      renderMessage('sms', { warning, signature, locale: 'en' });
    // Before: 【Wenchuan EM】[DRILL] Red landslide warning: 汶川县映... Evacuate now.
    expect(en(drill).short).toBe(
      '【Wenchuan EM】[DRILL] Red landslide: 渔子溪村 etc ~22:00. Go to 映秀镇小学 now.',
    );
    // The reply instruction before the fuller label (before: …Red landslide warning: …).
    expect(en(IMMINENT_RED_ALERT).short).toBe(
      '【Wenchuan EM】Red landslide: 渔子溪村 etc ~22:00. Go to 映秀镇小学 now. Reply 1',
    );
    // Before: 【Wenchuan EM】[DRILL] Cancelled: Red landslide warning.
    expect(en({ ...IMMINENT_CANCEL, status: 'exercise' }).short).toBe(
      '【Wenchuan EM】[DRILL] Cancelled: Red landslide (渔子溪村 etc). Reply 1',
    );
    // A signature too long for all of it: the time goes (the shelter is given back once the
    // reply instruction is given up), the place stays
    // whole; when even that does not fit, residents get the full text (shortFits false).
    const longer = en(IMMINENT_RED_ALERT, 'Wenchuan County EM Office');
    expect(longer.short).toBe(
      '【Wenchuan County EM Office】Red landslide: 渔子溪村 etc. Go to 映秀镇小学 now.',
    );
    expect(longer.shortFits).toBe(true);
    const tooLong = en(drill, 'Wenchuan County Emergency Management Bureau');
    expect(tooLong.shortFits).toBe(false);
    expect(tooLong.short).toContain('渔子溪村');
  });

  it('joins a place from its parts without repeating a division', () => {
    // Before: 汶川县映秀镇渔子溪村渔子溪村三组后山 (division name + a location naming the village).
    expect(joinPlaceName('汶川县映秀镇渔子溪村', null, '渔子溪村三组后山')).toBe(
      '汶川县映秀镇渔子溪村三组后山',
    );
    expect(joinPlaceName('汶川县映秀镇渔子溪村', undefined, '映秀镇渔子溪村三组')).toBe(
      '汶川县映秀镇渔子溪村三组',
    );
    expect(joinPlaceName('汶川县映秀镇渔子溪村', '', '汶川县映秀镇渔子溪村三组')).toBe(
      '汶川县映秀镇渔子溪村三组',
    );
    // Only whole divisions: a location that merely starts with the same character is kept.
    expect(joinPlaceName('汶川县映秀镇渔子溪村', null, '村口大树下')).toBe(
      '汶川县映秀镇渔子溪村村口大树下',
    );
    expect(joinPlaceName('汶川县映秀镇渔子溪村', '渔子溪滑坡隐患点', null)).toBe(
      '汶川县映秀镇渔子溪村渔子溪滑坡隐患点',
    );
    expect(joinPlaceName('汶川县映秀镇渔子溪村', null, '渔子溪村')).toBe('汶川县映秀镇渔子溪村');
  });

  it('renders times in Beijing time across UTC midnight', () => {
    const w: WarningContent = {
      ...IMMINENT_RED_ALERT,
      sentAt: new Date('2024-07-10T15:40:00Z'), // 23:40 BJT
      onset: new Date('2024-07-10T16:30:00Z'), // 00:30 on 11 July BJT
    };
    const { short, long } = renderMessage('sms', { warning: w, signature: SIG });
    expect(short).toContain('预计11日0时30分前后');
    expect(long).toContain('发布时间：2024年7月10日23时40分');
  });
});

describe('voice', () => {
  const cases: Array<[string, ChannelContexts['voice']]> = [
    ['imminent alert', { warning: IMMINENT_RED_ALERT, signature: SIG }],
    ['imminent update', updateCtx],
    ['imminent cancel', { warning: IMMINENT_CANCEL, signature: SIG }],
    ['meteorological alert', { warning: METEO_YELLOW_ALERT, signature: '阿坝州应急' }],
    ['meteorological cancel', { warning: METEO_YELLOW_CANCEL, signature: '阿坝州应急' }],
  ];

  it('a call opens with 紧急预警 (an urgent warning) for an imminent warning, and for red and orange risk', () => {
    const opening = (level: 'red' | 'orange' | 'yellow' | 'blue', locale: 'zh-CN' | 'en') =>
      renderMessage('voice', {
        warning: { ...METEO_YELLOW_ALERT, level },
        signature: '阿坝州应急',
        locale,
      }).script.split(/[。.]/)[1];
    expect(opening('red', 'zh-CN')).toContain('现在播报紧急预警');
    expect(opening('orange', 'zh-CN')).toContain('现在播报紧急预警');
    expect(opening('yellow', 'zh-CN')).toContain('现在播报预警信息');
    expect(opening('blue', 'zh-CN')).not.toContain('紧急');
    expect(opening('orange', 'en')).toContain('an urgent warning');
    expect(opening('yellow', 'en')).toContain('a warning');
    expect(opening('blue', 'en')).not.toContain('urgent');
    // An imminent warning asks people to evacuate now: urgent at any level (the loudspeaker says
    // 紧急通知 too).
    for (const level of ['yellow', 'blue'] as const)
      expect(
        renderMessage('voice', { warning: { ...IMMINENT_RED_ALERT, level }, signature: SIG })
          .script,
      ).toContain('现在播报紧急预警');
  });

  it.each(cases)('%s ends with the keypress prompt and has no URL or brackets', (_n, ctx) => {
    const v = renderMessage('voice', {
      ...ctx,
      recipient: { name: '李四', confirmUrl: 'https://x.cn/a' },
    });
    expect(v.script.endsWith(KEYPRESS_PROMPT_ZH)).toBe(true);
    expect(KEYPRESS_PROMPT_ZH).toBe('按1确认收到，按2请求支援');
    expect(v.script).not.toMatch(/https?:|【|】/);
    expect(v.script).toContain('李四');
    expect(v.keys).toEqual({ confirm: '1', help: '2' });
    expect(v.reprompt).toMatch(/按1确认收到.*按2请求支援/);
    expect(v.helpAcknowledged).toContain('支援请求');
    expect(v.thanks).toContain('确认收到');
  });

  it('imminent alert script reads the warning: level, time, places, impact, measures', () => {
    const { script } = renderMessage('voice', { warning: IMMINENT_RED_ALERT, signature: SIG });
    expect(script).toContain(
      '汶川县自然资源局于7月10日20时30分发布滑坡红色临灾预警，预警等级红色，一级。',
    );
    expect(script).toContain('预计7月10日22时前后，汶川县映秀镇渔子溪村、中滩堡村');
    expect(script).toContain('等12处可能发生滑坡，威胁120户356人。');
    expect(script).toContain('转移至映秀镇小学');
    expect(script).toContain('重复一遍');
    expect(cp(script)).toBeLessThan(400); // about a minute of speech
  });

  it('update and cancel wording', () => {
    expect(renderMessage('voice', updateCtx).script).toContain(
      '预警等级由橙色（二级）提升为红色（一级）',
    );
    expect(renderMessage('voice', { warning: IMMINENT_CANCEL, signature: SIG }).script).toContain(
      '汶川县自然资源局于7月10日20时30分发布的滑坡红色临灾预警现已解除',
    );
  });

  it('English script ends with the English prompt', () => {
    const v = renderMessage('voice', { warning: IMMINENT_RED_ALERT, signature: SIG, locale: 'en' });
    expect(v.script.endsWith(KEYPRESS_PROMPT_EN)).toBe(true);
    expect(v.script).toContain('Red imminent landslide warning, Red (Level I)');
  });
});

describe('robot', () => {
  const mentions = (n: number, withMobile = false): RobotMention[] =>
    Array.from({ length: n }, (_, i) => ({
      name: `责任人${i}`,
      userId: `user${i}`,
      mobile: withMobile ? `1380000${String(i).padStart(4, '0')}` : undefined,
      confirmUrl: `https://ack.example.cn/c/${'t'.repeat(43)}${i}`,
    }));

  it('WeCom: within 4096 bytes, mentions split over messages, each with a confirm link', () => {
    const r = renderMessage('robot', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      platform: 'wecom',
      mentions: mentions(60),
    });
    expect(r.messages.length).toBeGreaterThan(1);
    for (const m of r.messages) {
      expect(m.bytes).toBe(utf8Bytes(m.markdown));
      expect(m.bytes).toBeLessThanOrEqual(4096);
      expect(m.markdown).toContain('51322141600000_20240710203000_1');
    }
    const all = r.messages.map((m) => m.markdown).join('\n');
    for (let i = 0; i < 60; i++) {
      expect(all.split(`<@user${i}>`).length - 1).toBe(1);
      expect(all).toContain(`[点击确认收到](https://ack.example.cn/c/${'t'.repeat(43)}${i})`);
    }
    expect(r.messages.flatMap((m) => m.mentions)).toHaveLength(60);
    const first = r.messages[0]!.markdown;
    expect(first.startsWith('**🔴 滑坡红色临灾预警**')).toBe(true);
    expectRequiredElementsZh(first, IMMINENT_RED_ALERT);
    expect(r.messages[1]!.markdown.startsWith('**🔴 滑坡红色临灾预警（续1）**')).toBe(true);
  });

  it('WeCom: a huge description is shortened rather than breaking the limit', () => {
    const w = { ...IMMINENT_RED_ALERT, description: '坡体持续变形，裂缝扩大。'.repeat(300) };
    const r = renderMessage('robot', { warning: w, platform: 'wecom', mentions: mentions(3) });
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]!.bytes).toBeLessThanOrEqual(ROBOT_MARKDOWN_BYTE_LIMITS.wecom);
    expect(r.messages[0]!.markdown).toContain('红色（一级）');
  });

  it('DingTalk: @mobile in text and atMobiles, blank-line breaks, within 20000 bytes', () => {
    const r = renderMessage('robot', {
      warning: METEO_YELLOW_ALERT,
      platform: 'dingtalk',
      mentions: mentions(300, true),
    });
    expect(r.title).toBe('地质灾害气象风险黄色预警');
    for (const m of r.messages) expect(m.bytes).toBeLessThanOrEqual(20000);
    const first = r.messages[0]!;
    expect(first.markdown).toContain('责任人0 @13800000000 [点击确认收到]');
    expect(first.atMobiles[0]).toBe('13800000000');
    expect(first.atMobiles).toHaveLength(first.mentions.length);
    expect(first.markdown).toContain('**预警等级**：黄色（三级）\n\n**发布单位**');
  });

  it('Feishu: <at user_id="…">name</at> mentions, within its budget', () => {
    const r = renderMessage('robot', {
      warning: updateCtx.warning,
      previous: updateCtx.previous,
      platform: 'feishu',
      mentions: mentions(500),
    });
    expect(r.messages[0]!.markdown).toContain('<at user_id="user0">责任人0</at> [点击确认收到]');
    expect(r.messages[0]!.markdown).not.toMatch(/@责任人|<at id=/);
    expect(r.messages[0]!.markdown).toContain('（更新）');
    for (const m of r.messages)
      expect(m.bytes).toBeLessThanOrEqual(ROBOT_MARKDOWN_BYTE_LIMITS.feishu);
    expect(r.messages[0]!.atUserIds).toContain('user0');
  });

  it('neutralises markdown and mention syntax in content, and non-http links', () => {
    const w = {
      ...IMMINENT_RED_ALERT,
      instruction: '立即撤离 <@all> [点我](javascript:alert(1)) **粗**',
    };
    const r = renderMessage('robot', {
      warning: w,
      platform: 'wecom',
      mentions: [{ name: '<@all>', confirmUrl: 'javascript:alert(1)' }],
    });
    const md = r.messages[0]!.markdown;
    expect(md).not.toContain('<@all>');
    expect(md).not.toContain('](javascript');
    expect(md).toContain('＜@all＞');
    expect(md).toContain('（请通过短信回复或电话确认）');
  });

  it('cancel heading and English', () => {
    const zh = renderMessage('robot', { warning: IMMINENT_CANCEL, platform: 'wecom' });
    expect(zh.messages[0]!.markdown.startsWith('**✅ 解除滑坡红色临灾预警**')).toBe(true);
    const en = renderMessage('robot', {
      warning: IMMINENT_RED_ALERT,
      platform: 'wecom',
      locale: 'en',
      mentions: mentions(1),
    });
    expect(en.messages[0]!.markdown).toContain('**Level**: Red (Level I)');
    expect(en.messages[0]!.markdown).toContain('[Confirm receipt](');
  });
});

describe('email', () => {
  it('subject, text and escaped html with the confirm link', () => {
    const warning = { ...IMMINENT_RED_ALERT, instruction: '撤离 <script>alert(1)</script> & 避险' };
    const e = renderMessage('email', {
      warning,
      recipient: { name: '李四', confirmUrl: 'https://ack.example.cn/c/abc?x=1&y=2' },
    });
    expect(e.subject).toBe(
      '【红色预警】滑坡红色临灾预警（一级）｜汶川县映秀镇渔子溪村、中滩堡村、张家坪村等12处｜汶川县自然资源局',
    );
    expectRequiredElementsZh(e.text, warning);
    expect(e.text).toContain('请点击链接确认收到：https://ack.example.cn/c/abc?x=1&y=2');
    expect(e.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; 避险');
    expect(e.html).not.toContain('<script>');
    expect(e.html).toContain('href="https://ack.example.cn/c/abc?x=1&amp;y=2"');
    expect(e.html).toContain('#d0021b');
  });

  it('update and cancel subjects, English', () => {
    expect(renderMessage('email', updateCtx).subject.startsWith('【预警更新】')).toBe(true);
    expect(
      renderMessage('email', { warning: IMMINENT_CANCEL }).subject.startsWith('【预警解除】'),
    ).toBe(true);
    const en = renderMessage('email', { warning: METEO_YELLOW_ALERT, locale: 'en' });
    expect(en.subject).toBe(
      '[YELLOW WARNING] Yellow geological-hazard meteorological risk warning, Yellow (Level III) - 汶川县, 理县, 茂县 - 阿坝州自然资源局',
    );
    expect(en.text).toContain('Valid: 20:00 9 Jul to 20:00 10 Jul (Beijing time)');
  });
});

describe('broadcast', () => {
  it('imminent red: urgent, three readings, evacuation to the shelter', () => {
    const b = renderMessage('broadcast', { warning: IMMINENT_RED_ALERT });
    expect(b.repeat).toBe(3);
    expect(
      b.text.startsWith(
        '紧急通知！紧急通知！村民朋友们请注意：汶川县自然资源局发布滑坡红色临灾预警。',
      ),
    ).toBe(true);
    expect(b.text).toContain('映秀镇小学');
    expect(b.script.split(b.text)).toHaveLength(4);
    expect(b.script).toContain('再播送一遍：');
  });

  it('yellow risk: two readings; custom repeat; cancel', () => {
    const b = renderMessage('broadcast', { warning: METEO_YELLOW_ALERT });
    expect(b.repeat).toBe(2);
    expect(b.text).toContain(
      '7月9日20时至10日20时，汶川县、理县、茂县滑坡、崩塌、泥石流等地质灾害风险较高',
    );
    expect(renderMessage('broadcast', { warning: METEO_YELLOW_ALERT, repeat: 5 }).repeat).toBe(5);
    const c = renderMessage('broadcast', { warning: IMMINENT_CANCEL });
    expect(c.text).toContain('现已解除');
    expect(c.text).toContain('确认安全后有序返回');
  });
});

describe('manual tasks', () => {
  const targets = Array.from({ length: 15 }, (_, i) => ({ name: `住户${i + 1}`, people: 2 }));

  it('door-to-door names the households, warning, deadline and reply', () => {
    const m = renderMessage('manual', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      recipient: { name: '李四', role: '网格员', confirmUrl: 'https://ack.example.cn/t/1' },
      task: {
        type: 'door_to_door',
        area: '渔子溪村3组',
        targets,
        deadline: new Date('2024-07-10T13:15:00Z'),
      },
    });
    expect(m.title).toBe('敲门入户任务');
    expect(
      m.sms.startsWith('【汶川县应急】网格员李四，敲门入户任务：滑坡红色临灾预警（一级）已发布'),
    ).toBe(true);
    expect(m.sms).toContain('请立即到渔子溪村3组逐户敲门，通知立即撤离至映秀镇小学');
    expect(m.sms).toContain('住户1家（2人）');
    expect(m.sms).toContain('住户10家（2人）等共15户30人');
    expect(m.sms).not.toContain('住户11家');
    expect(m.sms).toContain('请于21时15分前完成，完成后回复1确认，需要支援回复2。');
    expect(m.segments).toBe(countSmsSegments(m.sms));
  });

  it('gong-and-whistle, cancel and English', () => {
    const g = renderMessage('manual', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      task: { type: 'gong_and_whistle', area: '渔子溪村' },
    });
    expect(g.sms).toContain('鸣锣吹哨任务');
    expect(g.sms).toContain('请立即在渔子溪村鸣锣吹哨，提醒群众立即撤离至映秀镇小学');
    const c = renderMessage('manual', {
      warning: IMMINENT_CANCEL,
      signature: SIG,
      task: { type: 'door_to_door', area: '渔子溪村' },
    });
    expect(c.title).toBe('预警解除通知任务');
    // The release's own follow-up, never the alert's evacuation order.
    expect(c.sms).toContain('告知预警已解除，撤离群众须经村组确认安全后有序返回');
    expect(c.sms).not.toMatch(/立即撤离|映秀镇小学/);
    const en = renderMessage('manual', {
      warning: METEO_YELLOW_ALERT,
      signature: SIG,
      locale: 'en',
      task: { type: 'door_to_door', targets: targets.slice(0, 2) },
    });
    expect(en.sms).toContain('Door-to-door task');
    expect(en.sms).toContain('(2 households, 4 people)');
  });
});

describe('release to a person whose role left the audience', () => {
  it('says they are no longer addressed, without naming an area or ending the warning', () => {
    const m = renderMessage('sms', {
      warning: { ...METEO_YELLOW_CANCEL, msgType: 'cancel' },
      signature: SIG,
      dropped: { places: [], level: 'orange' },
    });
    for (const text of [m.short, m.long]) {
      expect(text).toContain('不在');
      expect(text).toContain('通知对象');
      expect(text).not.toMatch(/解除|已结束/);
    }
  });
});

describe('task numbers', () => {
  it('a numbered task asks for the number in the reply', () => {
    const m = renderMessage('manual', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      task: { type: 'door_to_door', area: '渔子溪村第1网格', number: 23 },
    });
    expect(m.sms).toContain('敲门入户任务（任务号23）：');
    expect(m.sms).toContain('完成后回复“1 23”确认，需要支援回复“2 23”。');
  });
});

describe('escalation', () => {
  const unanswered = Array.from({ length: 12 }, (_, i) => ({
    name: `责任人${i + 1}`,
    role: '网格长',
    place: `映秀镇${i + 1}号网格`,
    phone: `1390000${String(i).padStart(4, '0')}`,
    attempts: 3,
    lastAttemptAt: new Date('2024-07-10T12:41:00Z'),
  }));

  it('names who did not answer and where', () => {
    const e = renderMessage('escalation', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      supervisor: { name: '陈七', role: '映秀镇防汛责任人' },
      unanswered,
    });
    expect(
      e.sms.startsWith(
        '【汶川县应急】映秀镇防汛责任人陈七，叫应升级：滑坡红色临灾预警（7月10日20时30分发布），下列12名责任人未应答：',
      ),
    ).toBe(true);
    expect(e.sms).toContain(
      '1.网格长责任人1（映秀镇1号网格，13900000000，已呼叫3次，最近一次20时41分）',
    );
    expect(e.sms).toContain('等12人，详见值班系统未叫醒名单');
    expect(e.sms).not.toContain('责任人11（');
    expect(e.text).toContain('12.网格长责任人12（映秀镇12号网格');
    expect(e.voice.endsWith(KEYPRESS_PROMPT_ZH)).toBe(true);
    expect(e.voice).toContain('映秀镇1号网格网格长责任人1');
    expect(e.voice).not.toContain('1390000');
    expect(e.segments).toBe(countSmsSegments(e.sms));
  });

  it('English', () => {
    const e = renderMessage('escalation', {
      warning: METEO_YELLOW_ALERT,
      signature: SIG,
      locale: 'en',
      unanswered: unanswered.slice(0, 1),
    });
    expect(e.sms).toContain(
      'Escalation on the Yellow geological-hazard meteorological risk warning issued at',
    );
    expect(e.sms).toContain('1 responsible person has not answered: 1. 责任人1');
    expect(e.voice.endsWith(KEYPRESS_PROMPT_EN)).toBe(true);
  });

  it('says a request for help is one, not a non-answer, and names a silent grid', () => {
    const e = renderMessage('escalation', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      supervisor: { name: '陈七', role: '村防汛责任人' },
      unanswered: [
        ...unanswered.slice(0, 5).map((p) => ({ ...p, reason: 'help_requested' as const })),
        { ...unanswered[5], reason: 'not_woken' as const },
        { name: '李网格', place: '渔子溪村第1网格', reason: 'group_silent' as const },
      ],
    });
    expect(e.sms).toContain('下列5人请求支援：1.网格长责任人1（映秀镇1号网格');
    expect(e.sms).toContain('请立即与其联系，组织支援。');
    expect(e.sms).toContain('下列1名责任人未应答：1.网格长责任人6');
    expect(e.sms).toContain('下列1个网格无责任人确认收到：1.渔子溪村第1网格。');
    // Help requests are not announced as unanswered calls, and carry no call count.
    expect(e.sms).not.toContain('下列5名责任人未应答');
    expect(e.sms.indexOf('请求支援')).toBeLessThan(e.sms.indexOf('未应答'));
    expect(e.voice).toContain('映秀镇1号网格网格长责任人1');
    expect(e.voice).toContain('请求支援');
    expect(e.voice).not.toMatch(/责任人5[^。]*未应答/);
    const en = renderMessage('escalation', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      locale: 'en',
      unanswered: [{ ...unanswered[0], reason: 'help_requested' as const }],
    });
    expect(en.sms).toContain('1 person asks for help: 1. 责任人1');
    expect(en.sms).not.toContain('not answered');
  });
});

describe('registry', () => {
  const byKind: Record<string, Record<string, WarningContent>> = {
    imminent: { alert: IMMINENT_RED_ALERT, update: IMMINENT_RED_UPDATE, cancel: IMMINENT_CANCEL },
    meteorological_risk: {
      alert: METEO_YELLOW_ALERT,
      update: {
        ...METEO_YELLOW_ALERT,
        msgType: 'update',
        references: [METEO_YELLOW_ALERT.nationalId],
        level: 'orange',
      },
      cancel: METEO_YELLOW_CANCEL,
    },
  };
  const extra = {
    platform: 'wecom' as const,
    task: { type: 'door_to_door' as const, area: '渔子溪村' },
    unanswered: [{ name: '张三', place: '渔子溪村' }],
  };

  it('has a template for every channel × locale × kind × message type, all rendering', () => {
    for (const channel of CHANNELS) {
      for (const locale of LOCALES) {
        for (const kind of WARNING_KINDS) {
          for (const msgType of MESSAGE_TYPES) {
            const warning = byKind[kind]![msgType]!;
            expect(resolveTemplate(channel, locale, kind, msgType)).toBeInstanceOf(Function);
            const out = renderMessage(channel, {
              warning,
              locale,
              signature: SIG,
              previous: { level: 'yellow' },
              ...extra,
            } as never);
            expect(JSON.stringify(out).length).toBeGreaterThan(50);
          }
        }
      }
    }
  });

  it('picks by kind and message type', () => {
    expect(renderMessage('sms', { warning: METEO_YELLOW_ALERT }).short).toContain(
      '地质灾害气象风险',
    );
    expect(renderMessage('sms', { warning: IMMINENT_RED_ALERT }).short).toContain('临灾预警');
    expect(renderMessage('sms', { warning: IMMINENT_CANCEL }).short).toContain('解除');
    expect(LEVEL_NAMES_ZH.red).toBe('一级（红色）');
  });

  it('unknown locale is an error', () => {
    expect(() =>
      renderMessage('sms', { warning: IMMINENT_RED_ALERT, locale: 'fr' as never }),
    ).toThrow(TemplateNotFoundError);
  });
});

describe('issue 9: what people read and hear is true', () => {
  const drill = { ...IMMINENT_RED_ALERT, status: 'exercise' as const };
  const test = { ...METEO_YELLOW_ALERT, status: 'test' as const };
  const mention: RobotMention = { name: '张三', userId: 'ou_1', confirmUrl: 'https://a.cn/c/1' };

  it('marks a drill at the very start of every channel, and says so after spoken texts', () => {
    const sms = renderMessage('sms', { warning: drill, signature: SIG });
    expect(sms.short.startsWith(`【${SIG}】【演练】滑坡红色临灾预警：`)).toBe(true);
    expect(sms.shortSegments).toBe(1);
    expect(cp(sms.short)).toBeLessThanOrEqual(70);
    expect(sms.long.startsWith(`【${SIG}】【演练】`)).toBe(true);
    const voice = renderMessage('voice', { warning: drill, signature: SIG });
    expect(voice.script.startsWith('这是一次演练。')).toBe(true);
    expect(voice.script.endsWith(`这是一次演练。${KEYPRESS_PROMPT_ZH}`)).toBe(true);
    const b = renderMessage('broadcast', { warning: drill });
    expect(b.text.startsWith('这是一次演练。紧急通知！')).toBe(true);
    expect(b.text.endsWith('这是一次演练。')).toBe(true);
    for (const platform of ['wecom', 'dingtalk', 'feishu'] as const) {
      const r = renderMessage('robot', { warning: drill, platform, mentions: [mention] });
      expect(r.title.startsWith('【演练】')).toBe(true);
      expect(r.messages[0]!.markdown.startsWith('**【演练】🔴 滑坡红色临灾预警**')).toBe(true);
    }
    const e = renderMessage('email', { warning: drill });
    expect(e.subject.startsWith('【演练】')).toBe(true);
    expect(e.text.split('\n')[0]).toBe('【演练】这是一次演练。');
    const m = renderMessage('manual', {
      warning: drill,
      signature: SIG,
      task: { type: 'door_to_door', area: '渔子溪村', number: 23 },
    });
    expect(m.sms.startsWith(`【${SIG}】【演练】敲门入户任务（任务号23）：`)).toBe(true);
    const esc = renderMessage('escalation', {
      warning: drill,
      signature: SIG,
      unanswered: [{ name: '王五', place: '渔子溪村', reason: 'help_requested' }],
    });
    expect(esc.sms.startsWith(`【${SIG}】【演练】叫应升级：`)).toBe(true);
    expect(esc.text.startsWith('【演练】叫应升级：')).toBe(true);
    expect(esc.voice.startsWith('这是一次演练。')).toBe(true);
    expect(esc.voice.endsWith(`这是一次演练。${KEYPRESS_PROMPT_ZH}`)).toBe(true);
  });

  it('marks a test 【测试】 / 这是一次测试, and English [DRILL] / This is a drill.', () => {
    expect(renderMessage('sms', { warning: test, signature: SIG }).short).toMatch(
      /^【汶川县应急】【测试】地质灾害气象风险黄色预警/,
    );
    expect(renderMessage('voice', { warning: test }).script.startsWith('这是一次测试。')).toBe(
      true,
    );
    const en = renderMessage('voice', { warning: drill, locale: 'en' });
    expect(en.script.startsWith('This is a drill.')).toBe(true);
    expect(en.script.endsWith(`This is a drill. ${KEYPRESS_PROMPT_EN}`)).toBe(true);
    const enSms = renderMessage('sms', { warning: drill, locale: 'en', signature: 'WC EM' });
    expect(enSms.short.startsWith('【WC EM】[DRILL] ')).toBe(true);
    expect(enSms.shortSegments).toBe(1);
    expect(renderMessage('email', { warning: test, locale: 'en' }).subject).toMatch(/^\[TEST\] /);
  });

  describe('a release after an update names the recipient’s dropped area, not an end', () => {
    const areas = ['汶川县映秀镇', '汶川县漩口镇'].map((name, i) => ({
      code: `51322110${i}`,
      name,
    }));
    const stillRed: WarningContent = {
      ...METEO_YELLOW_ALERT,
      msgType: 'cancel',
      level: 'red',
      areas,
      description: '预计未来24小时映秀镇、漩口镇仍有暴雨，地质灾害风险很高。',
      instruction: '请立即组织受威胁群众转移。',
    };
    const ctx = {
      warning: stillRed,
      signature: SIG,
      dropped: { places: ['隆湾社区', '三塘社区'], level: 'orange' as const },
    };
    const never = /解除|结束|映秀镇|漩口镇|暴雨|群众转移|红色/;

    it.each([
      ['sms short', () => renderMessage('sms', ctx).short],
      ['sms long', () => renderMessage('sms', ctx).long],
      ['voice', () => renderMessage('voice', ctx).script],
      ['email', () => renderMessage('email', ctx).text],
      ['broadcast', () => renderMessage('broadcast', ctx).text],
      ['robot', () => renderMessage('robot', { ...ctx, platform: 'wecom' }).messages[0]!.markdown],
      [
        'manual',
        () => renderMessage('manual', { ...ctx, task: { type: 'door_to_door' as const } }).sms,
      ],
    ])('%s', (_name, render) => {
      const text = render();
      expect(text).toMatch(/隆湾社区、三塘社区已不在地质灾害气象风险橙色预警范围内/);
      expect(text).not.toMatch(never);
    });

    it('says 您所在的 to a person, in one segment', () => {
      const { short, shortSegments } = renderMessage('sms', ctx);
      expect(short).toBe(
        '【汶川县应急】您所在的隆湾社区、三塘社区已不在地质灾害气象风险橙色预警范围内，请继续关注天气变化。回复1确认',
      );
      expect(shortSegments).toBe(1);
    });
  });

  it('a cancel says its own reason once and never repeats the alert instruction', () => {
    // A cancel as the service builds it today: alert description + newline + reason.
    const cancel: WarningContent = {
      ...IMMINENT_CANCEL,
      hazard: 'collapse',
      description: '三塘村后山危岩体出现裂缝，可能发生崩塌\n误发，重复预警，予以解除',
      instruction: '误发，重复预警，予以解除',
    };
    const b = renderMessage('broadcast', { warning: cancel });
    expect(b.text.split('误发，重复预警，予以解除')).toHaveLength(2);
    expect(b.text).toContain('现已解除。误发，重复预警，予以解除。撤离群众');
    expect(b.text).not.toContain('可能发生崩塌');
    const alertInstruction = { ...IMMINENT_CANCEL, instruction: IMMINENT_RED_ALERT.instruction };
    for (const text of [
      renderMessage('broadcast', { warning: alertInstruction }).text,
      renderMessage('voice', { warning: alertInstruction }).script,
      renderMessage('sms', { warning: alertInstruction }).long,
      renderMessage('email', { warning: alertInstruction }).text,
    ]) {
      expect(text).not.toMatch(/立即按撤离路线|严禁返回/);
      expect(text).toContain('降雨已经停止');
    }
  });

  it('an imminent warning names place, time and shelter everywhere, even with hazard points only', () => {
    const w: WarningContent = { ...IMMINENT_RED_ALERT, hazard: 'collapse', areas: [] };
    const v = renderMessage('voice', { warning: w, signature: '应急预警' });
    expect(v.script).toContain('这里是应急预警电话');
    expect(v.script).not.toMatch(/预警预警|，，/);
    expect(v.script).toContain(
      '重复一遍：崩塌红色临灾预警，渔子溪村后山滑坡、映秀镇渔子溪沟风险区，预计22时前后可能发生崩塌，请立即撤离到映秀镇小学。',
    );
    const sms = renderMessage('sms', { warning: w, signature: '应急预警' });
    expect(sms.short).toMatch(/渔子溪村后山滑坡.*22时.*映秀镇小学/);
    expect(sms.shortSegments).toBe(1);
    const b = renderMessage('broadcast', { warning: w });
    expect(b.text).toMatch(/22时.*渔子溪村后山滑坡.*映秀镇小学/);
  });

  it('the update SMS says what changed: level from → to, areas added, times', () => {
    const same = renderMessage('sms', {
      warning: IMMINENT_RED_UPDATE,
      signature: SIG,
      previous: {
        level: 'red',
        areas: IMMINENT_RED_ALERT.areas.slice(0, 11),
        expires: new Date('2024-07-11T10:00:00Z'),
      },
    });
    // Residents of an imminent warning need place, time and shelter first: the changed validity
    // gives way (it is in the long form), the added village and the reply instruction do not
    // (the place is shortened to its own name instead).
    expect(same.short).toBe(
      '【汶川县应急】滑坡红色临灾预警更新：新增东界脑村；渔子溪村等预计22时前后可能发生滑坡，请立即撤离至映秀镇小学。回复1确认',
    );
    expect(same.short).not.toContain('预警内容已更新');
    expect(same.long).toContain(
      '变更内容：新增汶川县映秀镇东界脑村；预警时段延长至7月11日20时30分',
    );
    const meteo = renderMessage('sms', {
      warning: {
        ...METEO_YELLOW_ALERT,
        msgType: 'update',
        references: [METEO_YELLOW_ALERT.nationalId],
      },
      signature: '阿坝州应急',
      previous: {
        level: 'yellow',
        areas: METEO_YELLOW_ALERT.areas.slice(0, 2),
        expires: new Date('2024-07-10T06:00:00Z'),
      },
    });
    expect(
      meteo.short.startsWith(
        '【阿坝州应急】地质灾害气象风险黄色预警更新：新增茂县，有效期延至10日20时；',
      ),
    ).toBe(true);
    expect(meteo.shortSegments).toBe(1);
    const raised = renderMessage('sms', updateCtx);
    expect(raised.short.startsWith('【汶川县应急】滑坡临灾预警由橙色升级为红色：')).toBe(true);
  });

  it('Feishu mentions notify by id, and fall back to the plain name without a broken tag', () => {
    const r = renderMessage('robot', {
      warning: IMMINENT_RED_ALERT,
      platform: 'feishu',
      mentions: [mention, { name: '李四' }, { name: '王五', userId: 'bad id"><x' }],
    });
    const md = r.messages[0]!.markdown;
    expect(md).toContain('- <at user_id="ou_1">张三</at> [点击确认收到](https://a.cn/c/1)');
    expect(md).toContain('- 李四（未绑定群账号，无法@提醒）');
    expect(md).toContain('- 王五（未绑定群账号，无法@提醒）');
    expect(md).not.toMatch(/@李四|<at[^>]*><\/at>|bad id/);
  });
});

describe('sms: each form rendered when it is read', () => {
  const recipient = { name: '张三', role: '居民', confirmUrl: 'https://ack.example.cn/c/abc' };
  afterEach(() => jest.restoreAllMocks());

  it('a resident sent the short form costs no long text, a grid leader sent the long one no fitting', () => {
    const longFields = jest.spyOn(format, 'warningFields');
    const fitting = jest.spyOn(segments, 'fitToSegment');
    const resident = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      recipient,
    });
    expect(resident.shortFits && resident.short).toContain('回复1确认');
    expect(longFields).not.toHaveBeenCalled();
    expect(fitting).toHaveBeenCalledTimes(1);

    fitting.mockClear();
    const leader = renderMessage('sms', {
      warning: IMMINENT_RED_ALERT,
      signature: SIG,
      recipient: { ...recipient, role: '网格员' },
    });
    expect(leader.long).toContain('https://ack.example.cn/c/abc');
    expect(fitting).not.toHaveBeenCalled();
    expect(longFields).toHaveBeenCalledTimes(1);
    // Read again (and the other form too): the same text each time, each rendered once.
    const long = leader.long;
    expect(leader.long).toBe(long);
    expect(leader.longSegments).toBeGreaterThan(1);
    const short = leader.short;
    expect(leader.short).toBe(short);
    expect(leader.shortSegments).toBe(1);
    expect(longFields).toHaveBeenCalledTimes(1);
    expect(fitting).toHaveBeenCalledTimes(1);
  });
});
