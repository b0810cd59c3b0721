import type { RobotPlatform } from '../../../common/domain/directory.types';
import type { ImportRecord } from '../import/import.types';
import type { CountyPlan } from './county-plan';
import { SeededRandom } from './seeded-random';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The platforms' real webhook hosts; a sandbox can stand in for them. */
export const ROBOT_ORIGINS: Readonly<Record<RobotPlatform, string>> = {
  wecom: 'https://qyapi.weixin.qq.com',
  dingtalk: 'https://oapi.dingtalk.com',
  feishu: 'https://open.feishu.cn',
};

/**
 * Group robots (one per township and village, some grids; mostly the township's platform) with
 * webhook keys and signing secrets derived from the seed, and loudspeakers (one per township
 * government, one to three per village).
 */
export function equipCounty(
  plan: CountyPlan,
  platformOf: ReadonlyMap<string, RobotPlatform>,
  origins: Readonly<Record<RobotPlatform, string>>,
): { robots: ImportRecord[]; broadcastTerminals: ImportRecord[] } {
  const { seed } = plan.options;
  const robots: ImportRecord[] = [];
  const robot = (
    code: string,
    platform: RobotPlatform,
    name: string,
    division: string,
    grid: string | null,
  ) => {
    const rng = new SeededRandom(seed, 'robot', code);
    const [url, secret] =
      platform === 'wecom'
        ? [`${origins.wecom}/cgi-bin/webhook/send?key=${rng.uuid()}`, null]
        : platform === 'dingtalk'
          ? [`${origins.dingtalk}/robot/send?access_token=${rng.chars(64)}`, `SEC${rng.chars(64)}`]
          : [`${origins.feishu}/open-apis/bot/v2/hook/${rng.uuid()}`, rng.chars(22, BASE62)];
    robots.push({ code, platform, name, division, grid, webhook_url: url, secret });
  };

  const broadcastTerminals: ImportRecord[] = [];
  for (const t of plan.townships) {
    const platform = platformOf.get(t.code) ?? 'wecom';
    robot(`RB${t.code}`, platform, `${t.name}防汛减灾工作群`, t.code, null);
    broadcastTerminals.push({
      code: `GB${t.code}01`,
      name: `${t.name}政府应急广播`,
      division: t.code,
    });
    for (const v of t.villages) {
      const rng = new SeededRandom(seed, 'village-equipment', v.code);
      const vPlatform = rng.chance(0.7)
        ? platform
        : rng.pick(['wecom', 'dingtalk', 'feishu'] as const);
      robot(`RB${v.code}`, vPlatform, `${v.name}应急群`, v.code, null);
      for (const g of v.grids) {
        if (rng.chance(0.25)) robot(`RB${g.code}`, vPlatform, `${g.name}群`, v.code, g.code);
      }
      const loudspeakers = rng.int(1, 3);
      for (let k = 1; k <= loudspeakers; k++) {
        broadcastTerminals.push({
          code: `GB${v.code}${String(k).padStart(2, '0')}`,
          name:
            k === 1
              ? `${v.name}${v.community ? '社区居委会' : '村委会'}广播`
              : `${v.name}${k - 1}组广播`,
          division: v.code,
        });
      }
    }
  }
  return { robots, broadcastTerminals };
}
