import type {
  MessageType,
  NamedPlace,
  WarningContent,
  WarningKind,
  WarningLevel,
} from '../common/domain/warning.types';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'zh-CN';

export interface RecipientContext {
  /** Name as addressed, e.g. '张三'. */
  name?: string;
  /** Role as addressed, e.g. '网格长'. */
  role?: string;
  /** Signed confirmation link for this recipient. */
  confirmUrl?: string;
}

/** Common input of every template. */
export interface TemplateContext {
  warning: WarningContent;
  /** Default zh-CN. */
  locale?: Locale;
  recipient?: RecipientContext;
  /**
   * Place names to print, most relevant first (e.g. the recipient's own villages). Default: the
   * names of `warning.areas`.
   */
  places?: string[];
  /**
   * For updates: what the previous version said, to word what changed ("level raised from … to
   * …", areas added, times moved). Every field is optional; what is missing is not compared.
   */
  previous?: {
    level?: WarningLevel;
    areas?: NamedPlace[];
    effective?: Date;
    onset?: Date;
    expires?: Date;
  };
  /**
   * For a release after an update (msgType 'cancel' sent to people whose areas the update
   * dropped): the recipient's own areas that were dropped and the level they had. The message
   * then says that THEIR area is no longer within the warning, never that the warning ended, and
   * names none of the areas still under it.
   */
  dropped?: { places: string[]; level: WarningLevel };
  /**
   * Carrier-registered SMS signature without brackets, e.g. '汶川县应急'. Default: the issuer name.
   * Used by the SMS-borne channels (sms, manual, escalation).
   */
  signature?: string;
  /** SMS reply code that confirms, default '1'; '2' asks for help. */
  replyCode?: string;
}

/* ---- sms ---- */
export type SmsContext = TemplateContext;
export interface SmsMessage {
  /** One segment (70 chars incl. signature when UCS-2). */
  short: string;
  /** Full text with all legally required elements; may span several segments. */
  long: string;
  shortSegments: number;
  longSegments: number;
  /** False only if even the minimal short wording did not fit (e.g. an absurdly long signature). */
  shortFits: boolean;
}

/* ---- voice ---- */
export type VoiceContext = TemplateContext;
export interface VoiceScripts {
  /** The TTS script; always ends with the keypress prompt. */
  script: string;
  /** Played when no key or a wrong key was pressed. */
  reprompt: string;
  /** Played after key 1 (confirmed). */
  thanks: string;
  /** Played after key 2 (help requested). */
  helpAcknowledged: string;
  keys: { confirm: '1'; help: '2' };
}

/* ---- robot ---- */
export const ROBOT_PLATFORMS = ['wecom', 'dingtalk', 'feishu'] as const;
export type RobotPlatform = (typeof ROBOT_PLATFORMS)[number];
export interface RobotMention {
  name: string;
  /** Platform user id (WeCom userid, DingTalk userId, Feishu open_id). */
  userId?: string;
  /** Mobile number (DingTalk can @ by mobile). */
  mobile?: string;
  /** Signed confirmation link for this person. */
  confirmUrl?: string;
}
export interface RobotContext extends TemplateContext {
  platform: RobotPlatform;
  mentions?: RobotMention[];
  /** Override the byte limit of one message's markdown (defaults: ROBOT_MARKDOWN_BYTE_LIMITS). */
  maxBytes?: number;
}
export interface RobotMessagePart {
  markdown: string;
  /** UTF-8 bytes of `markdown`. */
  bytes: number;
  mentions: RobotMention[];
  /** For the DingTalk `at` object. */
  atMobiles: string[];
  atUserIds: string[];
}
export interface RobotMessage {
  platform: RobotPlatform;
  /** Notification title (DingTalk markdown `title`, Feishu card header). */
  title: string;
  /** One or more messages, each within the platform limit; mentions are split across them. */
  messages: RobotMessagePart[];
}

/* ---- email ---- */
export type EmailContext = TemplateContext;
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

/* ---- broadcast ---- */
export interface BroadcastContext extends TemplateContext {
  /** Times the text is read; default 3 for red/orange, 2 otherwise. */
  repeat?: number;
}
export interface BroadcastMessage {
  /** One reading. */
  text: string;
  repeat: number;
  /** The whole programme: the text `repeat` times. */
  script: string;
}

/* ---- manual (door-to-door / gong-and-whistle task to a grid member) ---- */
export type ManualTaskType = 'door_to_door' | 'gong_and_whistle';
export interface ManualTaskTarget {
  /** Householder or person, e.g. '王五'. */
  name: string;
  address?: string;
  /** People in the household. */
  people?: number;
}
export interface ManualContext extends TemplateContext {
  task: {
    type: ManualTaskType;
    /** Households or persons to visit (door-to-door). */
    targets?: ManualTaskTarget[];
    /** Where to sound the gong / whom to visit, e.g. '渔子溪村3组'. */
    area?: string;
    /** Finish by. */
    deadline?: Date;
    /** The task's short number, named in an SMS reply when the member has several open tasks. */
    number?: number;
  };
}
export interface ManualTaskMessage {
  /** SMS to the grid member (may span several segments). */
  sms: string;
  segments: number;
  title: string;
}

/* ---- escalation ---- */
export interface UnansweredPerson {
  name: string;
  role?: string;
  /** Where: village / grid / hazard point. */
  place: string;
  phone?: string;
  attempts?: number;
  lastAttemptAt?: Date;
  /**
   * Why they are reported: did not answer (default), asked for help, or (group_silent) nobody
   * responsible in their grid confirmed; then `place` names the grid.
   */
  reason?: 'not_woken' | 'help_requested' | 'group_silent';
  /**
   * A grid reported by the group rule (`group_silent`): what its confirmation rule required and
   * how many of its responsible persons confirmed, naming those who have not. When some but too
   * few confirmed, the notice says how many of how many and what the rule requires.
   */
  group?: GroupRuleFigures;
}
export interface GroupRuleFigures {
  rule: 'one' | 'all' | 'at_least';
  /** Confirmations the rule requires (at_least: no more than the grid's responsible persons). */
  required: number;
  total: number;
  confirmed: number;
  /** Names of the responsible persons who have not confirmed. */
  unconfirmed: string[];
}
export interface EscalationContext extends TemplateContext {
  supervisor?: { name?: string; role?: string };
  unanswered: UnansweredPerson[];
}
export interface EscalationMessage {
  /** SMS to the supervisor (may span several segments). */
  sms: string;
  segments: number;
  /** Plain text / markdown-safe text for robots and email. */
  text: string;
  /** TTS script for a call to the supervisor; ends with the keypress prompt. */
  voice: string;
}

/* ---- registry typing ---- */
export interface ChannelContexts {
  sms: SmsContext;
  voice: VoiceContext;
  robot: RobotContext;
  email: EmailContext;
  broadcast: BroadcastContext;
  manual: ManualContext;
  escalation: EscalationContext;
}
export interface ChannelOutputs {
  sms: SmsMessage;
  voice: VoiceScripts;
  robot: RobotMessage;
  email: EmailMessage;
  broadcast: BroadcastMessage;
  manual: ManualTaskMessage;
  escalation: EscalationMessage;
}
export type Channel = keyof ChannelContexts;
export const CHANNELS: readonly Channel[] = [
  'sms',
  'voice',
  'robot',
  'email',
  'broadcast',
  'manual',
  'escalation',
];

export type TemplateFn<Ctx, Out> = (ctx: Ctx) => Out;
/** Templates of one channel, by locale × warning kind × message type. */
export type TemplateTable<Ctx, Out> = Record<
  Locale,
  Record<WarningKind, Record<MessageType, TemplateFn<Ctx, Out>>>
>;
