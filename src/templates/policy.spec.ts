import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { WARNING_LEVELS, type WarningContent } from '../common/domain/warning.types';
import { IMMINENT_RED_ALERT, METEO_YELLOW_ALERT } from './examples';
import {
  IMMINENT_ACTION,
  IMMINENT_NO_RETURN,
  LEVEL_POLICY,
  METEO_PUBLIC_ADVICE,
  NO_SHELTER,
} from './policy';
import { renderMessage } from './registry';
import { LOCALES } from './types';

/**
 * What a level means and what to do are said in one table (policy.ts). Two guards: no template
 * writes such wording by hand, and every channel says what the table says, for every level.
 */
describe('one policy table (src/templates/policy.ts)', () => {
  /** Wording that states a policy: the risk of a level, what to do, evacuation, no return. */
  const POLICY_WORDING =
    /风险(很高|高|较高)|有一定风险|立即(撤离|转移)|返回取物|不得返回|转移(准备|避险)|避险准备|巡查防范|加密巡查|注意防范|evacuate (now|to)|go back for|stay alert|ready to move|step up patrols|leave (now|at once)|keep away from/i;
  /** Template sources, without comments (they may quote a text as an example). */
  const sources = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    // The table itself, and the example warnings (their free texts are data, not templates).
    .filter((f) => f !== 'policy.ts' && f !== 'examples.ts')
    .map((f) => ({
      file: f,
      code: readFileSync(join(__dirname, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, ''),
    }));

  it.each(sources.map((s) => [s.file, s.code]))(
    '%s writes no policy wording of its own',
    (_file, code) => {
      const found = code.split('\n').filter((line) => POLICY_WORDING.test(line));
      expect(found).toEqual([]);
    },
  );

  describe.each(LOCALES)('%s', (locale) => {
    it.each(WARNING_LEVELS)(
      'a %s meteorological risk warning: SMS, call, loudspeaker and task say the level’s meaning and measure from the table',
      (level) => {
        // No free text of the issuer's that could say a level's words by itself.
        const warning: WarningContent = {
          ...METEO_YELLOW_ALERT,
          level,
          description: '预计有强降雨。',
          instruction: '',
        };
        const ctx = { warning, locale, signature: '阿坝州应急' };
        const p = LEVEL_POLICY[level];
        const sms = renderMessage('sms', ctx);
        // The short form says the measure in full when it fits, else in the fewest words.
        if (locale === 'zh-CN')
          expect(
            sms.short.includes(p.action[locale]) || sms.short.includes(p.actionShort[locale]),
          ).toBe(true);
        const call = renderMessage('voice', ctx).script;
        expect(call).toContain(p.risk[locale]);
        expect(call).toContain(p.action[locale]);
        const speaker = renderMessage('broadcast', ctx).text;
        expect(speaker).toContain(p.risk[locale]);
        expect(speaker).toContain(p.action[locale]);
        expect(speaker).toContain(METEO_PUBLIC_ADVICE[locale]);
        const task = renderMessage('manual', {
          ...ctx,
          task: { type: 'door_to_door', area: '汶川县' },
        }).sms;
        expect(task).toContain(p.risk[locale]);
        expect(task.toLowerCase()).toContain(
          p.actionShort[locale].replace(/^请|[。.]$/g, '').toLowerCase(),
        );
        // No channel, the written ones included, says another level's measure.
        const robot = renderMessage('robot', { ...ctx, platform: 'wecom' });
        const email = renderMessage('email', ctx);
        const all = [
          sms.short,
          sms.long,
          call,
          speaker,
          task,
          robot.messages.map((m) => m.markdown).join('\n'),
          `${email.subject}\n${email.text}`,
        ];
        const own = [p.action[locale], p.actionShort[locale]];
        const others = WARNING_LEVELS.filter((l) => l !== level)
          .flatMap((l) => [LEVEL_POLICY[l].action[locale], LEVEL_POLICY[l].actionShort[locale]])
          .filter((t) => !own.some((o) => o.includes(t)));
        for (const text of all) for (const t of others) expect(text).not.toContain(t);
      },
    );

    it('an imminent warning: call, loudspeaker and task say the table’s evacuation and no return', () => {
      const ctx = {
        warning: { ...IMMINENT_RED_ALERT, instruction: '' },
        locale,
        signature: '汶川县应急',
      };
      const shelter = IMMINENT_RED_ALERT.shelter ?? NO_SHELTER[locale];
      const zh = locale === 'zh-CN';
      const action = zh
        ? IMMINENT_ACTION[locale].replace(/^请/, '')
        : IMMINENT_ACTION[locale].toLowerCase();
      const noReturn = zh
        ? IMMINENT_NO_RETURN[locale]
        : IMMINENT_NO_RETURN[locale].replace(/^Do not/, '');
      for (const text of [
        renderMessage('voice', ctx).script,
        renderMessage('broadcast', ctx).text,
        renderMessage('manual', { ...ctx, task: { type: 'door_to_door', area: '渔子溪村' } }).sms,
      ]) {
        expect(text.toLowerCase()).toContain(action.toLowerCase());
        expect(text).toContain(shelter);
      }
      for (const text of [
        renderMessage('broadcast', ctx).text,
        renderMessage('manual', { ...ctx, task: { type: 'door_to_door', area: '渔子溪村' } }).sms,
      ])
        expect(text.toLowerCase()).toContain(noReturn.toLowerCase());
    });
  });
});
