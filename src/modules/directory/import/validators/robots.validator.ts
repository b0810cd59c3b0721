import { ROBOT_PLATFORMS, type RobotPlatform } from '../../../../common/domain/directory.types';
import type { RobotRow } from '../import-rows';
import type { SourceFile } from '../import.types';
import type { DirectoryLookup } from './directory-lookup';
import { CODE, DIVISION_CODE, GRID_CODE } from './patterns';
import { DuplicateKeys, Problems, RowReader } from './row-reader';
import type { ColumnSpec, Validated } from './validator';

export const ROBOT_COLUMNS: ColumnSpec = {
  required: ['code', 'platform', 'name', 'division', 'webhook_url'],
  optional: ['grid', 'secret'],
};

const PLATFORM_ALIASES: Partial<Record<string, RobotPlatform>> = {
  企业微信: 'wecom',
  钉钉: 'dingtalk',
  飞书: 'feishu',
};

/** DingTalk signs with the secret in the URL, Feishu in the body; WeCom's key is in the URL. */
const NEEDS_SECRET: ReadonlySet<RobotPlatform> = new Set(['dingtalk', 'feishu']);

function isWebhookUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Group robots. Webhook URLs and secrets are credentials: no message here repeats them, and the
 * writer stores them sealed with the SecretBox.
 */
export async function validateRobots(
  file: SourceFile,
  lookup: DirectoryLookup,
): Promise<Validated<RobotRow>> {
  const problems = new Problems();
  const codes = new DuplicateKeys('code');
  const rows: RobotRow[] = [];

  for (const source of file.rows) {
    const r = new RowReader(source, problems);
    const code = r.matching('code', CODE);
    const platform = r.oneOf('platform', ROBOT_PLATFORMS, PLATFORM_ALIASES);
    const name = r.text('name', { required: true, max: 200 });
    const divisionCode = r.matching('division', DIVISION_CODE);
    const gridCode = r.matching('grid', { ...GRID_CODE, required: false });
    const webhookUrl = r.raw('webhook_url') ?? '';
    if (webhookUrl === '') r.problem('webhook_url', '必填', 'required');
    else if (webhookUrl.length > 2048 || !isWebhookUrl(webhookUrl)) {
      r.problem('webhook_url', '不是有效的 http(s) 地址', 'not a valid http(s) URL');
    }
    const secret = r.raw('secret');
    if (platform && NEEDS_SECRET.has(platform) && secret === null) {
      r.problem(
        'secret',
        `${platform} 机器人必须填写签名密钥`,
        `a ${platform} robot needs its signing secret`,
      );
    }
    if (platform === 'wecom' && secret !== null) {
      r.problem(
        'secret',
        '企业微信机器人没有签名密钥，密钥在地址的 key 参数中',
        'WeCom robots have no signing secret (the key is in the URL)',
      );
    }
    if (secret !== null && secret.length > 512) {
      r.problem('secret', '密钥过长', 'the secret is too long');
    }
    codes.check(r, code);
    rows.push({
      row: r.row,
      code,
      platform: platform || 'wecom',
      name,
      divisionCode,
      gridCode,
      webhookUrl,
      secret,
    });
  }

  const divisions = await lookup.divisions(rows.map((b) => b.divisionCode));
  const grids = await lookup.grids(rows.flatMap((b) => (b.gridCode ? [b.gridCode] : [])));
  for (const b of rows) {
    if (b.divisionCode && !divisions.has(b.divisionCode)) {
      problems.add(
        b.row,
        'division',
        `区划 ${b.divisionCode} 不存在`,
        `division ${b.divisionCode} does not exist`,
      );
    }
    if (b.gridCode) {
      const village = grids.get(b.gridCode);
      if (village === undefined) {
        problems.add(
          b.row,
          'grid',
          `网格 ${b.gridCode} 不存在`,
          `grid ${b.gridCode} does not exist`,
        );
      } else if (b.divisionCode && village !== b.divisionCode) {
        problems.add(
          b.row,
          'grid',
          `网格 ${b.gridCode} 属于村 ${village}，division 应为该村`,
          `grid ${b.gridCode} belongs to village ${village}; the division must be that village`,
        );
      }
    }
  }
  return { rows, problems: problems.list };
}
