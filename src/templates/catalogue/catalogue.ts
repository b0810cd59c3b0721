/**
 * The message catalogue: every message the gateway can send, rendered from the templates with
 * fixed, realistic data (no clock, no randomness), for `docs/messages.md` (`npm run messages`)
 * and for the tests that read the whole catalogue (src/templates/catalogue.spec.ts).
 *
 * Axes: locale (zh-CN, en) × warning kind (imminent red, meteorological risk orange) × message
 * (alert, update, release after an update, cancel, notices to superiors, tasks) × status (actual,
 * exercise, test) × channel; then, for every other level of each kind, its actual alert (the
 * texts of a level differ only in the level's words). Loudspeakers are shown where they play:
 * imminent warnings and red or orange ones (GroupSendPlanner). Test-status messages go to responsible persons only (never to
 * residents): the SMS short form and the loudspeaker, which reach residents, are not rendered for
 * them. A call comes with what it says after a key (or none); the pages behind a confirmation
 * link, which hold both languages, have a section of their own (confirmPagesCatalogue).
 */
import type {
  NamedPlace,
  WarningContent,
  WarningKind,
  WarningLevel,
  WarningStatus,
} from '../../common/domain/warning.types';
import { hazardReportCatalogue } from '../hazard-report';
import { IMMINENT_CANCEL, IMMINENT_RED_ALERT } from '../examples';
import { confirmPage, linkProblemPage, type LinkView, resultPage } from '../confirm-pages';
import { renderMessage } from '../registry';
import { receivedCatalogue } from '../received';
import { renderSmsReply, SMS_REPLY_KINDS } from '../replies';
import { countSmsSegments } from '../sms-segments';
import type {
  Locale,
  RobotMention,
  RobotPlatform,
  TemplateContext,
  UnansweredPerson,
} from '../types';

export const CATALOGUE_STATUSES: readonly WarningStatus[] = ['actual', 'exercise', 'test'];
export const CATALOGUE_LOCALES: readonly Locale[] = ['zh-CN', 'en'];
export const CATALOGUE_KINDS: readonly WarningKind[] = ['imminent', 'meteorological_risk'];

export type MessageKind =
  | 'alert'
  | 'update'
  | 'release'
  | 'cancel'
  | 'help_notice'
  | 'not_woken_notice'
  | 'silent_grid_notice'
  | 'short_grid_notice'
  | 'door_to_door_task'
  | 'gong_and_whistle_task'
  | 'sms_reply';
export const MESSAGE_KINDS: readonly MessageKind[] = [
  'alert',
  'update',
  'release',
  'cancel',
  'help_notice',
  'not_woken_notice',
  'silent_grid_notice',
  'short_grid_notice',
  'door_to_door_task',
  'gong_and_whistle_task',
  'sms_reply',
];

export type CatalogueChannel =
  | 'sms_short'
  | 'sms_long'
  | 'voice'
  | 'voice_reprompt'
  | 'voice_thanks'
  | 'voice_help'
  | 'robot_wecom'
  | 'robot_dingtalk'
  | 'robot_feishu'
  | 'email'
  | 'broadcast'
  | 'task_sms'
  | 'notice_sms'
  | 'notice_voice'
  | 'notice_text'
  | 'reply_sms';

/** Who reads or hears the message. */
export type RecipientRole = 'resident' | 'responsible' | 'group' | 'grid_member' | 'supervisor';

/**
 * The story a message belongs to: the two main ones (an imminent red warning, a meteorological
 * orange warning raised to red), told with every message, and the other levels, whose alert only
 * is shown (the texts differ by level only in the level's words, from policy.ts).
 */
export type CatalogueScenario =
  | WarningKind
  | 'imminent_orange'
  | 'imminent_yellow'
  | 'imminent_blue'
  | 'meteo_red'
  | 'meteo_yellow'
  | 'meteo_blue';

export interface CatalogueEntry {
  locale: Locale;
  kind: WarningKind;
  scenario: CatalogueScenario;
  /** The level of the warning the message is about (an update's or release's: the new one). */
  level: WarningLevel;
  message: MessageKind;
  status: WarningStatus;
  channel: CatalogueChannel;
  recipient: RecipientRole;
  /** The SMS signature used (SMS-borne channels start with 【signature】). */
  signature: string;
  text: string;
  /** SMS segments (SMS-borne channels only). */
  segments?: number;
  /** Release after an update: place names still under the warning (never to be named). */
  stillUnderWarning?: string[];
}

/* ------------------------------------------------------------------------------------------ */
/* Data                                                                                        */
/* ------------------------------------------------------------------------------------------ */

const bj = (iso: string): Date => new Date(`${iso}+08:00`);
export const CATALOGUE_SIGNATURE = '汶川县应急';
const EN_SIGNATURE = 'Wenchuan EM';

const WENCHUAN_TOWNS: NamedPlace[] = [
  ['513221100', '汶川县映秀镇'],
  ['513221101', '汶川县漩口镇'],
  ['513221102', '汶川县水磨镇'],
  ['513221103', '汶川县三江镇'],
  ['513221104', '汶川县卧龙镇'],
  ['513221105', '汶川县耿达镇'],
  ['513221106', '汶川县银杏乡'],
].map(([code, name]) => ({ code: code!, name: name! }));

/** 二级 orange meteorological risk warning for six towns of 汶川县. */
const METEO_ORANGE_ALERT: WarningContent = {
  id: 'w-wenchuan-1',
  nationalId: '51322141600000_20240709170000_1',
  version: 1,
  msgType: 'alert',
  references: [],
  kind: 'meteorological_risk',
  level: 'orange',
  hazard: 'geological_composite',
  status: 'actual',
  headline: '汶川县自然资源局、汶川县气象局联合发布地质灾害气象风险橙色预警',
  description:
    '预计7月9日20时至10日20时，汶川县映秀镇、漩口镇、水磨镇等地有暴雨，局地大暴雨，诱发滑坡、崩塌、泥石流等地质灾害的风险高。',
  instruction:
    '请加强隐患点巡查排查和群测群防，强降雨期间避免前往沟谷、陡坡等危险区域，做好人员转移避险准备。',
  areas: WENCHUAN_TOWNS.slice(0, 6),
  hazardPoints: [],
  riskZones: [],
  sentAt: bj('2024-07-09T17:00:00'),
  effective: bj('2024-07-09T20:00:00'),
  expires: bj('2024-07-10T20:00:00'),
  issuer: { name: '汶川县自然资源局', divisionCode: '513221', agencyCode: '416' },
};

/** Version 2: raised to red for four towns, 银杏乡 added, 卧龙镇 and 耿达镇 dropped, extended. */
const METEO_RED_UPDATE: WarningContent = {
  ...METEO_ORANGE_ALERT,
  id: 'w-wenchuan-2',
  nationalId: '51322141600000_20240709230000_2',
  version: 2,
  msgType: 'update',
  references: [METEO_ORANGE_ALERT.nationalId],
  level: 'red',
  headline: '汶川县地质灾害气象风险预警由橙色升级为红色',
  description:
    '受强降雨持续影响，预计至7月10日23时，汶川县映秀镇、漩口镇、水磨镇、三江镇、银杏乡诱发地质灾害的风险很高。',
  instruction: '请立即组织隐患点受威胁群众转移避险，加密巡查，严禁进入沟谷、陡坡等危险区域。',
  areas: [...WENCHUAN_TOWNS.slice(0, 4), WENCHUAN_TOWNS[6]!],
  sentAt: bj('2024-07-09T23:00:00'),
  expires: bj('2024-07-10T23:00:00'),
};

const METEO_CANCEL: WarningContent = {
  ...METEO_RED_UPDATE,
  id: 'w-wenchuan-3',
  nationalId: '51322141600000_20240710120000_3',
  version: 3,
  msgType: 'cancel',
  references: [METEO_ORANGE_ALERT.nationalId, METEO_RED_UPDATE.nationalId],
  headline: '解除汶川县地质灾害气象风险红色预警',
  description: '降雨过程已结束，地质灾害气象风险明显降低。',
  instruction: '请继续做好隐患点巡查和雨后排查。',
  sentAt: bj('2024-07-10T12:00:00'),
  effective: bj('2024-07-10T12:00:00'),
};

/*
 * The imminent warning's story, in order: the red alert for eleven villages of 映秀镇 (20:30),
 * an update adding 东界脑村 (21:30), a narrowing to three villages that drops 黄家院村 (6:00 next
 * morning), and the cancel (12:00), before the warning would have expired (20:30).
 */

/** Version 1: red, eleven villages of 映秀镇. */
const IMMINENT_ALERT: WarningContent = {
  ...IMMINENT_RED_ALERT,
  areas: IMMINENT_RED_ALERT.areas.filter((a) => !a.name.endsWith('东界脑村')),
};

/** Version 2, an hour later: the slope cracks reach 东界脑村, which is added; the rest holds. */
const IMMINENT_UPDATE: WarningContent = {
  ...IMMINENT_RED_ALERT,
  id: 'w-yingxiu-2',
  nationalId: '51322141600000_20240710213000_2',
  version: 2,
  msgType: 'update',
  references: [IMMINENT_ALERT.nationalId],
  headline: '汶川县自然资源局更新映秀镇滑坡红色临灾预警，新增东界脑村',
  areas: IMMINENT_RED_ALERT.areas,
  sentAt: bj('2024-07-10T21:30:00'),
};

/** Version 3: narrowed to three villages, 黄家院村 (red) dropped. */
const IMMINENT_NARROWED: WarningContent = {
  ...IMMINENT_UPDATE,
  id: 'w-yingxiu-3',
  nationalId: '51322141600000_20240711060000_3',
  version: 3,
  references: [IMMINENT_ALERT.nationalId, IMMINENT_UPDATE.nationalId],
  areas: IMMINENT_RED_ALERT.areas.slice(0, 3),
  sentAt: bj('2024-07-11T06:00:00'),
};

/** Version 4: the cancel of the three villages still under the warning, before it expires. */
const IMMINENT_CANCELLED: WarningContent = {
  ...IMMINENT_CANCEL,
  id: 'w-yingxiu-4',
  nationalId: '51322141600000_20240711120000_4',
  version: 4,
  references: [IMMINENT_ALERT.nationalId, IMMINENT_UPDATE.nationalId, IMMINENT_NARROWED.nationalId],
  areas: IMMINENT_NARROWED.areas,
  sentAt: bj('2024-07-11T12:00:00'),
  effective: bj('2024-07-11T12:00:00'),
  expires: IMMINENT_NARROWED.expires,
};

/** 二级 orange imminent warning: the same slope, one level lower. */
const IMMINENT_ORANGE: WarningContent = {
  ...IMMINENT_ALERT,
  id: 'w-yingxiu-orange-1',
  level: 'orange',
  headline: '汶川县自然资源局发布映秀镇滑坡橙色临灾预警',
};

/** 三级 yellow and 四级 blue imminent warnings: allowed, rare (a hazard report drafts red or orange). */
const IMMINENT_YELLOW: WarningContent = {
  ...IMMINENT_ALERT,
  id: 'w-yingxiu-yellow-1',
  level: 'yellow',
  headline: '汶川县自然资源局发布映秀镇滑坡黄色临灾预警',
};
const IMMINENT_BLUE: WarningContent = {
  ...IMMINENT_ALERT,
  id: 'w-yingxiu-blue-1',
  level: 'blue',
  headline: '汶川县自然资源局发布映秀镇滑坡蓝色临灾预警',
};

/** 一级 red meteorological risk warning, issued red from the start. */
const METEO_RED: WarningContent = {
  ...METEO_ORANGE_ALERT,
  id: 'w-wenchuan-red-1',
  level: 'red',
  headline: '汶川县自然资源局、汶川县气象局联合发布地质灾害气象风险红色预警',
  description:
    '预计7月9日20时至10日20时，汶川县映秀镇、漩口镇、水磨镇等地有大暴雨，诱发滑坡、崩塌、泥石流等地质灾害的风险很高。',
  instruction: '请立即组织隐患点受威胁群众转移避险，加密巡查，严禁进入沟谷、陡坡等危险区域。',
};

/** 三级 yellow meteorological risk warning (responsible persons by default; no loudspeaker). */
const METEO_YELLOW: WarningContent = {
  ...METEO_ORANGE_ALERT,
  id: 'w-wenchuan-yellow-1',
  level: 'yellow',
  headline: '汶川县自然资源局、汶川县气象局联合发布地质灾害气象风险黄色预警',
  description:
    '预计7月9日20时至10日20时，汶川县映秀镇、漩口镇、水磨镇等地有大雨，局地暴雨，诱发滑坡、崩塌、泥石流等地质灾害的风险较高。',
  instruction: '请做好隐患点巡查和群测群防，强降雨期间避免前往沟谷、陡坡等危险区域。',
};

/** 四级 blue meteorological risk warning (responsible persons and technical staff only). */
const METEO_BLUE: WarningContent = {
  ...METEO_YELLOW,
  id: 'w-wenchuan-blue-1',
  level: 'blue',
  headline: '汶川县自然资源局、汶川县气象局联合发布地质灾害气象风险蓝色预警',
  description:
    '预计7月9日20时至10日20时，汶川县映秀镇、漩口镇、水磨镇等地有中到大雨，诱发地质灾害有一定风险。',
  instruction: '请关注天气变化，做好隐患点巡查。',
};

/** The alerts of the other levels (see CatalogueScenario). */
const OTHER_LEVELS: Record<Exclude<CatalogueScenario, WarningKind>, WarningContent> = {
  imminent_orange: IMMINENT_ORANGE,
  imminent_yellow: IMMINENT_YELLOW,
  imminent_blue: IMMINENT_BLUE,
  meteo_red: METEO_RED,
  meteo_yellow: METEO_YELLOW,
  meteo_blue: METEO_BLUE,
};

/** Loudspeakers play imminent warnings and red or orange ones only (GroupSendPlanner). */
const loudspeakers = (w: WarningContent): boolean =>
  w.kind === 'imminent' || w.level === 'red' || w.level === 'orange';

export interface KindData {
  alert: WarningContent;
  update: WarningContent;
  previous: NonNullable<TemplateContext['previous']>;
  release: WarningContent;
  dropped: { places: string[]; level: WarningLevel };
  cancel: WarningContent;
  /** Village / town of the notices and tasks. */
  place: string;
  grid: string;
}

/** The example warnings of each kind, in the order they are issued (see catalogueData). */
const DATA: Record<WarningKind, KindData> = {
  imminent: {
    alert: IMMINENT_ALERT,
    update: IMMINENT_UPDATE,
    previous: {
      level: IMMINENT_ALERT.level,
      areas: IMMINENT_ALERT.areas,
      onset: IMMINENT_ALERT.onset,
      expires: IMMINENT_ALERT.expires,
    },
    release: { ...IMMINENT_NARROWED, msgType: 'cancel' },
    dropped: { places: ['汶川县映秀镇黄家院村'], level: 'red' },
    cancel: IMMINENT_CANCELLED,
    place: '映秀镇渔子溪村',
    grid: '渔子溪村第1网格',
  },
  meteorological_risk: {
    alert: METEO_ORANGE_ALERT,
    update: METEO_RED_UPDATE,
    previous: {
      level: 'orange',
      areas: METEO_ORANGE_ALERT.areas,
      expires: METEO_ORANGE_ALERT.expires,
    },
    release: { ...METEO_RED_UPDATE, msgType: 'cancel' },
    dropped: { places: ['汶川县卧龙镇'], level: 'orange' },
    cancel: METEO_CANCEL,
    place: '汶川县漩口镇',
    grid: '漩口镇集中村第2网格',
  },
};

/** The example data, for the tests that check it tells one consistent story. */
export const catalogueData = (): Readonly<Record<WarningKind, Readonly<KindData>>> => DATA;

const withStatus = (w: WarningContent, status: WarningStatus): WarningContent => ({ ...w, status });

/** The person named in robot mentions (the directory's name, in both locales). */
const MENTION_NAME = '李四';

/**
 * The proper nouns of the example data: places (areas, hazard points, risk zones, the notices'
 * villages and grids), shelters, issuers and people named in Chinese. An English text may quote
 * these as they are; nothing else in it is Chinese (catalogue.spec.ts).
 */
export function catalogueNames(): string[] {
  const names = new Set<string>([MENTION_NAME]);
  for (const d of Object.values(DATA)) {
    for (const w of [d.alert, d.update, d.release, d.cancel]) {
      for (const p of [...w.areas, ...w.hazardPoints, ...w.riskZones]) names.add(p.name);
      if (w.shelter) names.add(w.shelter);
      names.add(w.issuer.name);
    }
    for (const p of [...(d.previous.areas ?? []), ...d.dropped.places.map((name) => ({ name }))])
      names.add(p.name);
    names.add(d.place);
    names.add(d.grid);
  }
  return [...names];
}

/** The distinctive part of an area name (汶川县映秀镇渔子溪村 → 渔子溪村). */
export function ownName(name: string): string {
  const m = /([^省市州县区镇乡]+[村镇乡社区]+)$/u.exec(name);
  return m ? m[1]! : name;
}

/* ------------------------------------------------------------------------------------------ */
/* Rendering                                                                                   */
/* ------------------------------------------------------------------------------------------ */

const PLATFORMS: readonly RobotPlatform[] = ['wecom', 'dingtalk', 'feishu'];
const mentionFor = (platform: RobotPlatform): RobotMention => ({
  name: MENTION_NAME,
  userId: { wecom: 'lisi', dingtalk: 'lisi01', feishu: 'ou_7d8a6e6df7621556ce0d21922b676706' }[
    platform
  ],
  mobile: platform === 'dingtalk' ? '13800000001' : undefined,
  confirmUrl: 'https://gw.example.cn/c/AbCdEf123',
});

function warningEntries(
  locale: Locale,
  kind: WarningKind,
  message: 'alert' | 'update' | 'release' | 'cancel',
  status: WarningStatus,
  scenario: CatalogueScenario = kind,
): CatalogueEntry[] {
  const d = DATA[kind];
  const en = locale === 'en';
  const signature = en ? EN_SIGNATURE : CATALOGUE_SIGNATURE;
  const warning = withStatus(
    scenario === kind
      ? { alert: d.alert, update: d.update, release: d.release, cancel: d.cancel }[message]
      : OTHER_LEVELS[scenario as keyof typeof OTHER_LEVELS],
    status,
  );
  const base: TemplateContext = {
    warning,
    locale,
    signature,
    previous: message === 'update' ? d.previous : undefined,
    dropped: message === 'release' ? d.dropped : undefined,
  };
  const person = {
    ...base,
    recipient: {
      name: en ? 'Li Si' : '李四',
      role: en ? 'grid member' : '网格员',
      confirmUrl: 'https://gw.example.cn/c/AbCdEf123',
    },
  };
  const stillUnderWarning =
    message === 'release' ? warning.areas.map((a) => ownName(a.name)) : undefined;
  const entry = (
    channel: CatalogueChannel,
    recipient: RecipientRole,
    text: string,
    segments?: number,
  ): CatalogueEntry => ({
    locale,
    kind,
    scenario,
    level: warning.level,
    message,
    status,
    channel,
    recipient,
    signature,
    text,
    ...(segments === undefined ? {} : { segments }),
    ...(stillUnderWarning ? { stillUnderWarning } : {}),
  });
  const out: CatalogueEntry[] = [];
  const residents = status !== 'test';
  if (residents) {
    const sms = renderMessage('sms', base);
    out.push(entry('sms_short', 'resident', sms.short, sms.shortSegments));
  }
  const long = renderMessage('sms', person);
  out.push(entry('sms_long', 'responsible', long.long, long.longSegments));
  // The call, then what it says after no key or a wrong key, after key 1 and after key 2.
  // The other levels, kept short: what a call says after a key and the robot texts of the other
  // platforms differ from the main stories' only in the level's words.
  const full = scenario === kind;
  const call = renderMessage('voice', person);
  out.push(entry('voice', 'responsible', call.script));
  if (full) {
    out.push(entry('voice_reprompt', 'responsible', call.reprompt));
    out.push(entry('voice_thanks', 'responsible', call.thanks));
    out.push(entry('voice_help', 'responsible', call.helpAcknowledged));
  }
  for (const platform of full ? PLATFORMS : (['wecom'] as const)) {
    // A dropped group's release mentions nobody: the people dropped get their own release.
    const mentions = message === 'release' ? [] : [mentionFor(platform)];
    const r = renderMessage('robot', { ...base, platform, mentions });
    const text = [r.title, ...r.messages.map((m) => m.markdown)].join('\n\n');
    out.push(entry(`robot_${platform}`, 'group', text));
  }
  const e = renderMessage('email', person);
  out.push(entry('email', 'responsible', `${e.subject}\n\n${e.text}`));
  if (residents && loudspeakers(warning))
    out.push(entry('broadcast', 'resident', renderMessage('broadcast', base).script));
  return out;
}

const NOTICE_REASON: Record<string, NonNullable<UnansweredPerson['reason']>> = {
  help_notice: 'help_requested',
  not_woken_notice: 'not_woken',
  silent_grid_notice: 'group_silent',
  short_grid_notice: 'group_silent',
};

function noticeEntries(
  locale: Locale,
  kind: WarningKind,
  message: 'help_notice' | 'not_woken_notice' | 'silent_grid_notice' | 'short_grid_notice',
  status: WarningStatus,
): CatalogueEntry[] {
  const d = DATA[kind];
  const en = locale === 'en';
  const signature = en ? EN_SIGNATURE : CATALOGUE_SIGNATURE;
  const reason = NOTICE_REASON[message]!;
  const people: UnansweredPerson[] =
    message === 'short_grid_notice'
      ? [
          {
            name: en ? 'Wang Wu' : '王五',
            place: d.grid,
            reason,
            // A grid whose rule asks for all of its three responsible persons; one confirmed.
            group: {
              rule: 'all',
              required: 3,
              total: 3,
              confirmed: 1,
              unconfirmed: en ? ['Wang Wu', 'Li Si'] : ['王五', '李四'],
            },
          },
        ]
      : reason === 'group_silent'
        ? [{ name: en ? 'Wang Wu' : '王五', place: d.grid, reason }]
        : [
            {
              name: en ? 'Wang Wu' : '王五',
              role: en ? 'grid leader' : '网格长',
              place: d.grid,
              phone: '13900000005',
              attempts: reason === 'not_woken' ? 3 : undefined,
              lastAttemptAt:
                reason === 'not_woken'
                  ? new Date(d.alert.sentAt.getTime() + 15 * 60_000)
                  : undefined,
              reason,
            },
            // A test warning reaches responsible persons only: no resident to report.
            ...(status === 'test'
              ? []
              : [
                  {
                    name: en ? 'Zhao Liu' : '赵六',
                    role: en ? 'resident' : '村民',
                    place: d.place,
                    attempts: reason === 'not_woken' ? 3 : undefined,
                    reason,
                  },
                ]),
          ];
  const n = renderMessage('escalation', {
    warning: withStatus(d.alert, status),
    locale,
    signature,
    supervisor: { name: en ? 'Chen Qi' : '陈七', role: en ? 'village head' : '村防汛责任人' },
    unanswered: people,
  });
  const entry = (channel: CatalogueChannel, text: string, segments?: number): CatalogueEntry => ({
    locale,
    kind,
    scenario: kind,
    level: d.alert.level,
    message,
    status,
    channel,
    recipient: 'supervisor',
    signature,
    text,
    ...(segments === undefined ? {} : { segments }),
  });
  return [
    entry('notice_sms', n.sms, n.segments),
    entry('notice_voice', n.voice),
    entry('notice_text', n.text),
  ];
}

function taskEntries(
  locale: Locale,
  kind: WarningKind,
  message: 'door_to_door_task' | 'gong_and_whistle_task',
  status: WarningStatus,
): CatalogueEntry[] {
  // A test warning (a roster check) assigns no task: a task's SMS has residents evacuate.
  if (status === 'test') return [];
  const d = DATA[kind];
  const en = locale === 'en';
  const signature = en ? EN_SIGNATURE : CATALOGUE_SIGNATURE;
  const door = message === 'door_to_door_task';
  const m = renderMessage('manual', {
    warning: withStatus(d.alert, status),
    locale,
    signature,
    recipient: { name: en ? 'Li Si' : '李四', role: en ? 'grid member' : '网格员' },
    task: {
      type: door ? 'door_to_door' : 'gong_and_whistle',
      area: d.grid,
      number: 23,
      deadline: new Date(d.alert.sentAt.getTime() + 45 * 60_000),
      targets: door
        ? [
            {
              name: en ? 'Zhao Liu' : '赵六',
              people: 3,
              address: en ? 'Group 3 no. 12' : '3组12号',
            },
            { name: en ? 'Sun Ba' : '孙八', people: 2 },
          ]
        : undefined,
    },
  });
  return [
    {
      locale,
      kind,
      scenario: kind,
      level: d.alert.level,
      message,
      status,
      channel: 'task_sms',
      recipient: 'grid_member',
      signature,
      text: m.sms,
      segments: m.segments,
    },
  ];
}

/**
 * The SMS answered to a person's SMS reply, one per reply kind. "Nothing open" concerns no
 * warning, so it has no drill or test form.
 */
function replyEntries(locale: Locale, kind: WarningKind, status: WarningStatus): CatalogueEntry[] {
  const en = locale === 'en';
  const signature = en ? EN_SIGNATURE : CATALOGUE_SIGNATURE;
  const headline = DATA[kind].alert.headline;
  return SMS_REPLY_KINDS.filter(
    (k) =>
      (status === 'actual' || k !== 'nothing_open') &&
      // A test warning has no tasks to reply about.
      (status !== 'test' || !k.startsWith('task_')),
  ).map((k) => {
    const text = renderSmsReply(k, {
      signature,
      locale,
      status: k === 'nothing_open' ? undefined : status,
      headline,
      task: { title: '敲门入户任务', number: 23 },
      openTasks: [23, 24],
    });
    return {
      locale,
      kind,
      scenario: kind,
      level: DATA[kind].alert.level,
      message: 'sms_reply' as const,
      status,
      channel: 'reply_sms' as const,
      recipient: 'responsible' as const,
      signature,
      text,
      segments: smsSegments(text),
    };
  });
}

/* ------------------------------------------------------------------------------------------ */
/* Confirmation link pages                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** The text of a page as a person reads it: one line per paragraph, buttons as [label]. */
export function pageText(html: string): string {
  const body = /<body>([\s\S]*)<\/body>/.exec(html)?.[1] ?? html;
  return body
    .replace(/<button[^>]*>([\s\S]*?)<\/button>/g, (_m, label: string) => `[${label}]\n`)
    .replace(/<small>/g, ' ')
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/<\/dt>/g, '：')
    .replace(/<\/(p|h1|dd|section|form)>/g, '\n')
    .replace(/<section[^>]*>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('\n');
}

/**
 * The pages behind a confirmation link (src/templates/confirm-pages.ts), as text, for the
 * imminent alert: the page with its two buttons, the pages after a button (confirmed, help
 * requested, or nothing changed because the person had answered or the notice was withdrawn),
 * and the pages of an expired or invalid link. Each page is Chinese first, English below.
 */
export function confirmPagesCatalogue(): { title: string; text: string }[] {
  const answeredAt = new Date(IMMINENT_ALERT.sentAt.getTime() + 6 * 60_000);
  const view = (
    state: LinkView['state'],
    warningState: LinkView['warningState'] = 'active',
  ): LinkView => ({
    personName: MENTION_NAME,
    level: IMMINENT_ALERT.level,
    content: IMMINENT_ALERT,
    warningState,
    state,
    answeredAt: state === 'confirmed' || state === 'declined' ? answeredAt : null,
  });
  const pages: Array<[string, string]> = [
    ['确认页面（待确认） · Page before answering', confirmPage(view('delivered'))],
    [
      '确认页面（演练） · Page before answering, a drill',
      confirmPage({ ...view('delivered'), content: withStatus(IMMINENT_ALERT, 'exercise') }),
    ],
    [
      '确认页面（预警已解除，尚未确认） · Page before answering, the warning since cancelled',
      confirmPage(view('delivered', 'cancelled')),
    ],
    [
      '按“确认收到”后 · After “Confirm receipt”',
      resultPage(view('confirmed'), 'confirm', { effective: true }),
    ],
    [
      '按“请求支援”后 · After “Request help”',
      resultPage(view('declined'), 'help', { effective: true }),
    ],
    [
      '按钮无效：已确认过 · A button that changed nothing: confirmed before',
      resultPage(view('confirmed'), 'confirm', { effective: false }),
    ],
    [
      '按钮无效：已请求过支援 · A button that changed nothing: help requested before',
      resultPage(view('declined'), 'help', { effective: false }),
    ],
    [
      '按钮无效：通知已取消 · A button that changed nothing: the notice was withdrawn',
      resultPage(view('cancelled'), 'confirm', { effective: false }),
    ],
    ['链接已过期 · Link expired', linkProblemPage('expired')],
    ['链接无效 · Invalid link', linkProblemPage('invalid')],
  ];
  return pages.map(([title, html]) => ({ title, text: pageText(html) }));
}

/** Every message, in catalogue order. */
export function buildCatalogue(): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  for (const locale of CATALOGUE_LOCALES) {
    for (const kind of CATALOGUE_KINDS) {
      for (const message of MESSAGE_KINDS) {
        for (const status of CATALOGUE_STATUSES) {
          switch (message) {
            case 'alert':
            case 'update':
            case 'release':
            case 'cancel':
              out.push(...warningEntries(locale, kind, message, status));
              break;
            case 'help_notice':
            case 'not_woken_notice':
            case 'silent_grid_notice':
            case 'short_grid_notice':
              out.push(...noticeEntries(locale, kind, message, status));
              break;
            case 'door_to_door_task':
            case 'gong_and_whistle_task':
              out.push(...taskEntries(locale, kind, message, status));
              break;
            case 'sms_reply':
              out.push(...replyEntries(locale, kind, status));
              break;
          }
        }
      }
    }
    // The other levels: their alert, as actually sent.
    for (const scenario of Object.keys(OTHER_LEVELS) as (keyof typeof OTHER_LEVELS)[]) {
      const w = OTHER_LEVELS[scenario];
      out.push(...warningEntries(locale, w.kind, 'alert', 'actual', scenario));
    }
  }
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Markdown                                                                                    */
/* ------------------------------------------------------------------------------------------ */

const SCENARIO_TITLE: Record<CatalogueScenario, string> = {
  imminent: '临灾预警（滑坡，红色） · Imminent warning (landslide, red)',
  meteorological_risk:
    '地质灾害气象风险预警（橙色，更新为红色） · Meteorological risk warning (orange, raised to red)',
  imminent_orange: '临灾预警（滑坡，橙色）：发布 · Imminent warning (landslide, orange): alert',
  imminent_yellow: '临灾预警（滑坡，黄色）：发布 · Imminent warning (landslide, yellow): alert',
  imminent_blue: '临灾预警（滑坡，蓝色）：发布 · Imminent warning (landslide, blue): alert',
  meteo_red: '地质灾害气象风险预警（红色）：发布 · Meteorological risk warning (red): alert',
  meteo_yellow:
    '地质灾害气象风险预警（黄色）：发布；默认只发责任人，不用应急广播 · Meteorological risk warning (yellow): alert; responsible persons by default, no loudspeaker',
  meteo_blue:
    '地质灾害气象风险预警（蓝色）：发布；默认只发责任人和技术人员，不用应急广播 · Meteorological risk warning (blue): alert; responsible persons and technical staff by default, no loudspeaker',
};
const MESSAGE_TITLE: Record<MessageKind, string> = {
  alert: '发布 · Alert',
  update: '更新 · Update',
  release:
    '更新后移出预警范围（机器人和应急广播：仅发往自身区域被移出的群和村，不@人） · Release after an update (area dropped; robots and loudspeakers: only those whose own area was dropped, no mentions)',
  cancel: '解除 · Cancel',
  help_notice: '请求支援通知（上级） · Help-request notice to a superior',
  not_woken_notice: '未应答（未叫醒）通知（上级） · Not-woken notice to a superior',
  silent_grid_notice: '网格无人确认通知（上级） · Silent-grid notice to a superior',
  short_grid_notice:
    '网格确认人数未达要求通知（上级，要求全部或至少N人确认时） · Grid short of confirmations, notice to a superior (rule all or at least N)',
  door_to_door_task: '敲门入户任务短信 · Door-to-door task SMS',
  gong_and_whistle_task: '鸣锣吹哨任务短信 · Gong-and-whistle task SMS',
  sms_reply: '回复短信（对方短信回复后） · SMS answered to a reply',
};
const STATUS_TITLE: Record<WarningStatus, string> = {
  actual: '正式 · Actual',
  exercise: '演练 · Exercise',
  test: '测试 · Test (responsible persons only)',
};
const CHANNEL_TITLE: Record<CatalogueChannel, string> = {
  sms_short: '短信（单条，居民） · SMS, one segment (residents)',
  sms_long: '短信（完整，责任人） · SMS, full text (responsible persons)',
  voice: '语音外呼 · Voice call',
  voice_reprompt:
    '语音外呼：未按键或按错键时重播 · Voice call: said again after no key or a wrong key',
  voice_thanks: '语音外呼：按1确认后 · Voice call: after key 1 (confirmed)',
  voice_help: '语音外呼：按2请求支援后 · Voice call: after key 2 (help requested)',
  robot_wecom: '企业微信群机器人 · WeCom robot',
  robot_dingtalk: '钉钉群机器人 · DingTalk robot',
  robot_feishu: '飞书群机器人 · Feishu robot',
  email: '电子邮件 · E-mail (subject, text)',
  broadcast: '应急广播（村村响） · Loudspeaker',
  task_sms: '任务短信（网格员） · Task SMS (grid member)',
  notice_sms: '短信（上级） · SMS (superior)',
  notice_voice: '语音外呼（上级） · Voice call (superior)',
  notice_text: '文本（机器人、邮件） · Text (robots, e-mail)',
  reply_sms: '短信（回复） · SMS (answer to a reply)',
};

function fence(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((s) => s.length));
  const f = '`'.repeat(longest + 1);
  return `${f}text\n${text}\n${f}`;
}

export function catalogueMarkdown(entries: readonly CatalogueEntry[]): string {
  const lines: string[] = [
    '<!-- Generated by `npm run messages` (src/templates/catalogue). Do not edit by hand. -->',
    '',
    '# 消息目录 · Message catalogue',
    '',
    '每一条网关可能发出的消息，由模板按固定的示例数据生成（北京时间）。中文在前，英文在后。',
    '按预警类型、消息、状态（正式／演练／测试）和渠道分组。测试消息只发给责任人，不发给居民。',
    '',
    'Every message the gateway can send, rendered from the templates with fixed example data',
    '(Beijing time). Chinese first, English after; grouped by warning kind, message, status',
    '(actual / exercise / test) and channel. Test messages go to responsible persons only, and a test assigns no task.',
    '',
    '每种预警的其他等级（临灾预警橙色、黄色、蓝色；气象风险预警红色、黄色、蓝色）列出正式发布消息（机器人只列企业微信，不列按键后的语音）。',
    '应急广播只用于临灾预警和红色、橙色预警；黄色、蓝色气象风险预警默认不发居民（居民短信仅在受众含居民时发送）。',
    '',
    'For every other level of each kind (imminent orange, yellow, blue; meteorological red, yellow,',
    'blue) the actual alert is shown (one robot platform, no after-key texts: they differ only in the',
    'level’s words). Loudspeakers play imminent warnings and red or orange ones only;',
    'yellow and blue meteorological warnings reach no residents by default (the one-segment SMS goes',
    'to residents only when the audience names them).',
    '',
    'Not in this catalogue yet:',
    '',
    '- 预警到期（expiry）: 没有到期模板，预警到期时不发送消息。 There is no expiry template: a',
    '  warning that expires sends nothing.',
    '',
  ];
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.locale, (counts.get(e.locale) ?? 0) + 1);
  let locale: Locale | undefined;
  let scenario: CatalogueScenario | undefined;
  let message: MessageKind | undefined;
  let status: WarningStatus | undefined;
  for (const e of entries) {
    if (e.locale !== locale) {
      locale = e.locale;
      scenario = message = status = undefined;
      lines.push(
        `## ${e.locale === 'zh-CN' ? '中文 · zh-CN' : 'English · en'} (${counts.get(e.locale)} messages)`,
        '',
      );
    }
    if (e.scenario !== scenario) {
      scenario = e.scenario;
      message = status = undefined;
      lines.push(`### ${SCENARIO_TITLE[e.scenario]} — ${e.locale}`, '');
    }
    if (e.message !== message) {
      message = e.message;
      status = undefined;
      lines.push(`#### ${MESSAGE_TITLE[e.message]} — ${e.locale}`, '');
    }
    if (e.status !== status) {
      status = e.status;
      lines.push(`##### ${STATUS_TITLE[e.status]}`, '');
    }
    const seg = e.segments === undefined ? '' : ` — ${e.segments} SMS`;
    lines.push(`**${CHANNEL_TITLE[e.channel]}**${seg}`, '', fence(e.text), '');
  }
  // Hazard reports (险情上报) concern no warning: their own section, both locales.
  lines.push(
    '## 险情上报 · Hazard reports',
    '',
    'Notices of a hazard report to the county and city duty offices, the reminder at the 45-minute',
    'mark, the calls, and the SMS answered to an SMS starting with 险情 (src/modules/hazard-reports).',
    '',
  );
  let hazardLocale: string | undefined;
  for (const h of hazardReportCatalogue()) {
    if (h.locale !== hazardLocale) {
      hazardLocale = h.locale;
      lines.push(`### ${h.locale === 'zh-CN' ? '中文 · zh-CN' : 'English · en'}`, '');
    }
    const spoken = h.title.includes('电话');
    const seg = spoken ? '' : ` — ${smsSegments(h.text)} SMS`;
    lines.push(`**${h.title}**${seg}`, '', fence(h.text), '');
  }
  // Answers received but not yet recorded concern no known warning: their own section.
  lines.push(
    '## 已收到、尚未记录的应答 · Answers received, not yet recorded',
    '',
    'A keypress, SMS reply or confirmation link received while Postgres cannot be reached, or a',
    'keypress or SMS reply not recorded within ANSWER_ACK_MS under load, or received past',
    'ANSWER_MAX_IN_FLIGHT, is kept in the inbound spool and recorded later',
    '(src/templates/received.ts): the person is told it was received, never that it was recorded.',
    '',
  );
  let receivedLocale: string | undefined;
  for (const r of receivedCatalogue({ zh: CATALOGUE_SIGNATURE, en: EN_SIGNATURE })) {
    if (r.locale !== receivedLocale) {
      receivedLocale = r.locale;
      lines.push(`### ${r.locale === 'zh-CN' ? '中文 · zh-CN' : 'English · en'}`, '');
    }
    const seg = r.sms ? ` — ${smsSegments(r.text)} SMS` : '';
    lines.push(`**${r.title}**${seg}`, '', fence(r.text), '');
  }
  // The pages behind a confirmation link: one page holds both languages.
  lines.push(
    '## 确认链接页面 · Confirmation link pages',
    '',
    'The pages behind the confirmation link of an SMS, robot message or e-mail',
    '(src/templates/confirm-pages.ts), as text (buttons in brackets), for the imminent',
    'alert: Chinese first, English below on the same page. The page after a button pressed while',
    'Postgres cannot be reached is in the section above.',
    '',
  );
  for (const p of confirmPagesCatalogue()) lines.push(`**${p.title}**`, '', fence(p.text), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Segments of an SMS text as the fitter counts them (UTF-16 units). */
export const smsSegments = (text: string): number => countSmsSegments(text, { unit: 'utf16' });
