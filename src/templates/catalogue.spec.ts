import { readFileSync } from 'fs';
import {
  buildCatalogue,
  catalogueData,
  catalogueNames,
  CatalogueEntry,
  catalogueMarkdown,
  confirmPagesCatalogue,
  MESSAGE_KINDS,
  smsSegments,
} from './catalogue/catalogue';
import { MESSAGES_MD } from './catalogue/main';
import { STATUS_MARKS } from './policy';
import { LEVEL_COLOURS_ZH, WARNING_KINDS, WARNING_LEVELS } from '../common/domain/warning.types';

const entries = buildCatalogue();
const zh = (e: CatalogueEntry): boolean => e.locale === 'zh-CN';
const name = (e: CatalogueEntry): string =>
  `${e.locale} ${e.kind} ${e.level} ${e.message} ${e.status} ${e.channel}`;
/** What a call says after a key, or when no key or a wrong key was pressed. */
const RECEIPTS: readonly string[] = ['voice_reprompt', 'voice_thanks', 'voice_help'];
const each = (filter: (e: CatalogueEntry) => boolean): Array<[string, CatalogueEntry]> =>
  entries.filter(filter).map((e) => [name(e), e]);

describe('message catalogue (docs/messages.md)', () => {
  it('is up to date: run `npm run messages` after changing a template', () => {
    expect(readFileSync(MESSAGES_MD, 'utf8')).toBe(catalogueMarkdown(entries));
  });

  it('covers every message kind × kind × status × locale, and is deterministic', () => {
    for (const message of MESSAGE_KINDS) {
      // A test warning assigns no task (it never reaches residents): no task message to show.
      const statuses = message.endsWith('_task')
        ? ['actual', 'exercise']
        : ['actual', 'exercise', 'test'];
      for (const status of statuses) {
        for (const kind of ['imminent', 'meteorological_risk']) {
          for (const locale of ['zh-CN', 'en']) {
            expect(
              entries.some(
                (e) =>
                  e.message === message &&
                  e.status === status &&
                  e.kind === kind &&
                  e.locale === locale,
              ),
            ).toBe(true);
          }
        }
      }
    }
    expect(catalogueMarkdown(buildCatalogue())).toBe(catalogueMarkdown(entries));
  });

  it.each(WARNING_KINDS.flatMap((k) => WARNING_LEVELS.map((l) => [k, l] as const)))(
    'shows the alert of a %s warning at level %s in both locales, on every channel it goes out on',
    (kind, level) => {
      for (const locale of ['zh-CN', 'en'] as const) {
        const alert = entries.filter(
          (e) =>
            e.kind === kind &&
            e.level === level &&
            e.locale === locale &&
            e.message === 'alert' &&
            e.status === 'actual',
        );
        const channels = alert.map((e) => e.channel);
        for (const c of ['sms_short', 'sms_long', 'voice', 'robot_wecom', 'email'] as const)
          expect(channels).toContain(c);
        // Loudspeakers play imminent warnings and red or orange ones only (GroupSendPlanner).
        const speakers = kind === 'imminent' || level === 'red' || level === 'orange';
        expect(channels.includes('broadcast')).toBe(speakers);
        // The level's own words (policy.ts), never another level's colour.
        const colour = LEVEL_COLOURS_ZH[level];
        for (const e of alert.filter((x) => zh(x) && !RECEIPTS.includes(x.channel))) {
          expect(e.text).toContain(colour);
          for (const other of WARNING_LEVELS.filter((l) => l !== level))
            expect(e.text).not.toContain(`${LEVEL_COLOURS_ZH[other]}预警`);
        }
      }
    },
  );

  it('has what a call says after a key, for every warning message and locale', () => {
    for (const channel of ['voice_reprompt', 'voice_thanks', 'voice_help'] as const) {
      for (const message of ['alert', 'update', 'release', 'cancel'] as const) {
        for (const locale of ['zh-CN', 'en'] as const) {
          expect(
            entries.some(
              (e) =>
                e.channel === channel && e.message === message && e.locale === locale && e.text,
            ),
          ).toBe(true);
        }
      }
    }
    const md = catalogueMarkdown(entries);
    // e.g. 您已确认收到滑坡红色临灾预警，请立即按预案行动，谢谢。
    expect(md).toContain('您已确认收到滑坡红色临灾预警，请立即按预案行动，谢谢。');
    expect(md).toContain('Your request for assistance has been received.');
  });

  it('has the pages of a confirmation link: before and after each button, and a bad link', () => {
    const md = catalogueMarkdown(entries);
    const pages = md.slice(md.indexOf('## 确认链接页面 · Confirmation link pages'));
    expect(pages.length).toBeLessThan(md.length);
    for (const text of [
      '请确认您已收到此预警；如需帮助，请点击“请求支援”。',
      '[确认收到 Confirm receipt]',
      '已确认收到，谢谢！请按预警要求做好防范。',
      'Receipt confirmed. Thank you; please follow the warning’s instructions.',
      '已收到您的支援请求，值班人员将尽快与您联系，请保持电话畅通，注意安全。',
      'Your request for help has been received; the duty officer will contact you shortly.',
      '无需再次确认',
      '此预警通知已取消，无需确认。',
      '此确认链接已过期。',
      'This confirmation link is not valid.',
    ])
      expect(pages).toContain(text);
    expect(pages).not.toMatch(/<[a-z/][^>]*>|&[a-z#0-9]+;/); // text, not HTML
    // A drill's page says so before its headline, in both languages.
    const drill = confirmPagesCatalogue().find((p) => p.title.includes('演练'));
    expect(drill?.text).toMatch(/【演练】\S/);
    expect(drill?.text).toMatch(/\[DRILL\] \S/);
    for (const p of confirmPagesCatalogue().filter((x) => !x.title.includes('演练')))
      expect(p.text).not.toMatch(/演练|DRILL/);
  });

  it.each(Object.entries(catalogueData()))(
    '%s: the example warnings tell one consistent story (alert, update, release, cancel)',
    (_kind, d) => {
      const codes = (areas: readonly { code: string }[]): string[] => areas.map((a) => a.code);
      const t = (date: Date | undefined): number => date?.getTime() ?? NaN;
      // The update is a later version of the alert: its own time and id, and `previous` is
      // the alert as issued, so what it lists as added is truly new.
      expect(t(d.update.sentAt)).toBeGreaterThan(t(d.alert.sentAt));
      expect(d.update.nationalId).not.toBe(d.alert.nationalId);
      expect(d.update.references).toContain(d.alert.nationalId);
      expect(d.previous.level).toBe(d.alert.level);
      expect(codes(d.previous.areas ?? [])).toEqual(codes(d.alert.areas));
      expect(t(d.previous.expires)).toBe(t(d.alert.expires));
      expect(t(d.previous.onset)).toEqual(t(d.alert.onset));
      const added = d.update.areas.filter((a) => !codes(d.alert.areas).includes(a.code));
      expect(added.length).toBeGreaterThan(0);
      // The release (the update itself, or a later narrowing) drops an area the version before
      // it had.
      expect(t(d.release.sentAt)).toBeGreaterThanOrEqual(t(d.update.sentAt));
      const before = d.release.nationalId === d.update.nationalId ? d.alert : d.update;
      for (const place of d.dropped.places) {
        expect(before.areas.map((a) => a.name)).toContain(place);
        expect(d.release.areas.map((a) => a.name)).not.toContain(place);
      }
      // The cancel comes last, while the warning is still in force, and names only areas
      // still under it.
      expect(t(d.cancel.sentAt)).toBeGreaterThan(t(d.release.sentAt));
      expect(t(d.cancel.sentAt)).toBeLessThan(t(d.release.expires));
      for (const code of codes(d.cancel.areas)) expect(codes(d.release.areas)).toContain(code);
    },
  );

  it.each(each((e) => e.status !== 'actual'))('%s starts with its mark', (_n, e) => {
    const mark = STATUS_MARKS[e.status as 'exercise' | 'test'][e.locale];
    // SMS-borne texts: the carrier signature first, the mark right after it.
    const body = e.text.startsWith(`【${e.signature}】`)
      ? e.text.slice(e.signature.length + 2)
      : e.text;
    const spoken = ['voice', 'broadcast', 'notice_voice'].includes(e.channel);
    // What a call says after a key (or none): one short sentence, marked before it.
    const receipt = RECEIPTS.includes(e.channel);
    if (receipt) {
      expect(body.startsWith(mark.spoken)).toBe(true);
    } else if (spoken) {
      expect(body.startsWith(mark.spoken)).toBe(true);
      // …and says it again after the text (before the keypress prompt of a call).
      const lastReading = body.split('\n').pop()!;
      expect(lastReading).toMatch(
        new RegExp(
          `${mark.spoken.replace(/\./g, '\\.')}\\s*(按1确认收到，按2请求支援|Press 1.*)?$`,
        ),
      );
    } else {
      expect(body.startsWith(mark.tag)).toBe(true);
    }
  });

  it('separates an English mark from the text that follows it', () => {
    for (const e of entries.filter((x) => x.locale === 'en'))
      expect([e.channel, e.text]).not.toEqual([
        e.channel,
        expect.stringMatching(/\[(DRILL|TEST)\][^\s]/),
      ]);
  });

  it('never addresses a test message to residents', () => {
    const tests = entries.filter((e) => e.status === 'test');
    expect(tests.length).toBeGreaterThan(0);
    for (const e of tests) expect(e.recipient).not.toBe('resident');
    // Nor through anyone else: no task (its SMS has residents evacuate), no resident named.
    for (const e of tests) {
      expect([e.message, e.channel]).not.toContainEqual('task_sms');
      expect(e.message).not.toMatch(/task/);
      expect(e.text).not.toMatch(/村民|resident/i);
    }
  });

  it.each(each((e) => e.message === 'release'))(
    '%s: a release after an update never says the warning ended nor names an area still under it',
    (_n, e) => {
      expect(e.text).not.toMatch(/解除|结束|已撤销|cancel|ended|lifted|over\b/i);
      for (const place of e.stillUnderWarning ?? []) expect(e.text).not.toContain(place);
      // The notice itself says so; what the call says after a key refers to it.
      if (!RECEIPTS.includes(e.channel))
        expect(e.text).toMatch(/已不在.*预警范围内|no longer (within|in) the/);
    },
  );

  it.each(each((e) => e.channel === 'sms_short'))('%s: one segment', (_n, e) => {
    expect(smsSegments(e.text)).toBe(1);
    expect(Array.from(e.text).length).toBeLessThanOrEqual(70);
  });

  // Every short SMS asks for an answer (the 叫应 chain waits for it): the reply instruction
  // outranks the full place name and every other upgrade; the place is shortened instead.
  it.each(each((e) => e.channel === 'sms_short'))(
    '%s: keeps its reply instruction within one segment',
    (_n, e) => {
      const reply = zh(e) ? '回复1确认' : ' Reply 1';
      if (!zh(e) && e.kind === 'imminent' && !e.text.endsWith(reply)) {
        // The one exception: an English drill of an imminent alert, whose place, time and
        // shelter (checked below) with the [DRILL] mark leave no room for it.
        expect(e.status).toBe('exercise');
        expect(Array.from(e.text + reply).length).toBeGreaterThan(70);
      } else expect(e.text.endsWith(reply)).toBe(true);
      expect(smsSegments(e.text)).toBe(1);
      expect(Array.from(e.text).length).toBeLessThanOrEqual(70);
    },
  );

  it.each(each((e) => e.channel === 'sms_short'))(
    '%s: ends with a whole sentence before the reply prompt',
    (_n, e) => {
      // Not …风险很高，回复1确认: the text before 回复1确认 / Reply 1 ends a sentence.
      const body = e.text.replace(/(回复\d+确认| ?Reply \d+)$/u, '');
      expect(body).toMatch(/[。！？.!?]$/u);
    },
  );

  it.each(each(() => true))('%s: no doubled words, empty slots or missing values', (_n, e) => {
    expect(e.text).not.toMatch(/预警预警|应急应急|解除解除|确认确认|的的|了了/);
    expect(e.text).not.toMatch(/，，|、、|。。|（）|\(\)|：。|，。|：，|【】/);
    expect(e.text).not.toMatch(/undefined|null|NaN|\[object/);
    expect(e.text).not.toMatch(/ {2,}\S/);
  });

  it('uses the English article the next word takes (an Orange, a Red), in the whole catalogue', () => {
    // By the first sound: an before a vowel sound (an Orange, an update, an SMS), a before a
    // consonant sound (a Red, a landslide, a unit).
    const vowelSound = (word: string): boolean =>
      /^[A-Z]{2,}$/.test(word)
        ? /^[AEFHILMNORSX]/.test(word)
        : /^(hour|honest|honou?r)/i.test(word) ||
          (/^[aeiou]/i.test(word) && !/^(u[bcfhjkqrstn][aeiou]|uni|use|eu|one\b)/i.test(word));
    const wrong = [...catalogueMarkdown(entries).matchAll(/\b(an?) ([A-Za-z]+)/gi)]
      .filter((m) => (m[1]!.toLowerCase() === 'an') !== vowelSound(m[2]!))
      .map((m) => m[0]);
    expect(wrong).toEqual([]);
  });

  it('never names a division twice in a row (…渔子溪村渔子溪村…), in the whole catalogue', () => {
    const doubled = catalogueMarkdown(entries).match(
      /(\p{Script=Han}+?(?:社区|街道|[省市州盟县区旗镇乡村]))\1/gu,
    );
    expect(doubled).toBeNull();
  });

  it.each(each(zh))('%s: no Latin letters except URLs, ids and allowed tokens', (_n, e) => {
    const rest = e.text
      .replace(/https?:\/\/\S+/g, '')
      .replace(/\b[0-9A-Za-z_]+_\d{14}_\d+\b/g, '') // national warning ids
      .replace(/<at user_id="[^"]*">|<\/at>|<@[^>]+>|@\d+|@[a-z0-9_]+/g, '') // mention syntax
      .replace(/\bG\d+\b/g, '') // national road numbers (G213线)
      .replace(/\bOK\b/g, '');
    expect(rest).not.toMatch(/[A-Za-z]/);
  });

  // Proper nouns an English text may keep in Chinese: the example data's names, and each
  // division of a place name (汶川县映秀镇渔子溪村 → 汶川县, 映秀镇, 渔子溪村), longest first.
  const properNouns = [
    ...new Set(
      catalogueNames().flatMap((n) => [
        n,
        ...(n.match(/.+?(社区|街道|[省市州盟县区旗镇乡村])/gu) ?? []),
      ]),
    ),
  ].sort((a, b) => b.length - a.length);

  it.each(each((e) => !zh(e)))(
    '%s: no Chinese outside quoted free text and proper nouns',
    (_n, e) => {
      // A free text that exists in Chinese only is quoted and marked: “…” (in Chinese); a reply
      // SMS quotes the warning's headline as its title ("…"). Nothing else but proper nouns.
      let rest = e.text.replace(/“[^“”]*” \(in Chinese\)/g, '');
      if (e.channel === 'reply_sms') rest = rest.replace(/"[^"]*"/g, '');
      for (const n of properNouns) rest = rest.split(n).join('');
      expect(rest).not.toMatch(/\p{Script=Han}/u);
    },
  );

  it.each(
    each((e) => e.kind === 'imminent' && e.channel === 'voice' && /alert|update/.test(e.message)),
  )('%s names the place, the time and the shelter', (_n, e) => {
    expect(e.text).toMatch(zh(e) ? /渔子溪村/ : /渔子溪村|Yuzixi/);
    expect(e.text).toMatch(zh(e) ? /22时/ : /22:00/);
    expect(e.text).toContain('映秀镇小学');
    // …and repeats all three before the keypress prompt.
    const again = e.text.slice(e.text.lastIndexOf(zh(e) ? '重复一遍' : 'Again'));
    expect(again).toMatch(/渔子溪村/);
    expect(again).toMatch(/22/);
    expect(again).toContain('映秀镇小学');
  });

  it.each(
    each(
      (e) => e.kind === 'imminent' && e.channel === 'sms_short' && /alert|update/.test(e.message),
    ),
  )('%s names place, time and shelter', (_n, e) => {
    expect(e.text).toMatch(zh(e) ? /渔子溪村.*22时.*映秀镇小学/ : /渔子溪村.*22:00.*映秀镇小学/);
  });

  it.each(each((e) => e.channel === 'sms_short'))(
    '%s names its place, never cut to nothing',
    (_n, e) => {
      // A release names the area dropped; any other short SMS the warning's first place.
      const place =
        e.message === 'release'
          ? e.kind === 'imminent'
            ? '黄家院村'
            : '卧龙镇'
          : e.kind === 'imminent'
            ? '渔子溪村'
            : '映秀镇';
      expect(e.text).toContain(place);
      // Never a place name cut short (汶川县映... / 汶川县映秀…).
      expect(e.text).not.toMatch(/\p{Script=Han}(…|\.\.)/u);
    },
  );
});
