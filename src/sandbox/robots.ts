import express, { type Request, type Response, type Router } from 'express';
import { timingSafeEqual } from 'node:crypto';
import type { EventLog } from './event-log';
import { SlidingWindowLimiter } from './rate-limiter';
import { dingTalkSign, feishuSign } from './signatures';
import type { SimClock } from './sim-clock';

export type RobotPlatform = 'wecom' | 'dingtalk' | 'feishu';

/**
 * The robot's signing secret for a webhook key/token: `undefined` when no such robot exists;
 * `''` for a robot without signature checking (WeCom never signs: any defined value means the
 * key exists).
 */
export type RobotSecretLookup = (platform: RobotPlatform, token: string) => string | undefined;

export interface RobotsDeps {
  robotSecret: RobotSecretLookup;
  clock: SimClock;
  log: EventLog;
}

export interface RobotMessageSummary {
  msgtype: string;
  text: string;
  mentions: { mobiles: string[]; userIds: string[]; all: boolean };
  links: string[];
}

const MINUTE = 60_000;
/** DingTalk and Feishu accept a timestamp at most this far from now. */
const TIMESTAMP_TOLERANCE_MS = 60 * MINUTE;

const LINK_RE = /https?:\/\/[^\s"'<>()[\]{}，。；、！？（）【】「」]+/g;

/** Every string value in a JSON value, depth first. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** The links anywhere in a message (text, markdown, card buttons), without duplicates. */
export function extractLinks(value: unknown): string[] {
  const found = strings(value).flatMap((s) => s.match(LINK_RE) ?? []);
  return [...new Set(found.map((l) => l.replace(/[.,;:!?]+$/, '')))];
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseJson(raw: unknown): { ok: true; value: Record<string, unknown> } | { ok: false } {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : '';
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false };
    return { ok: true, value: value as Record<string, unknown> };
  } catch {
    return { ok: false };
  }
}

/**
 * WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) group robots' incoming webhooks: their URL
 * shapes, signatures, content limits, rate limits and response bodies (HTTP 200 with an error
 * code in the JSON, as the vendors do).
 */
export function robotsRouter(deps: RobotsDeps): Router {
  const { robotSecret, clock, log } = deps;
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: '1mb' });

  const wecomLimiter = new SlidingWindowLimiter(20, clock.real(MINUTE));
  const dingLimiter = new SlidingWindowLimiter(20, clock.real(MINUTE));
  const dingBlockedUntil = new Map<string, number>();
  const feishuLimits = new Limiter2(
    new SlidingWindowLimiter(100, clock.real(MINUTE)),
    new SlidingWindowLimiter(5, clock.real(1000)),
  );

  const accepted = (platform: RobotPlatform, token: string, summary: RobotMessageSummary) =>
    log.record(platform, 'robot.message', { to: token, data: { ...summary } });

  const rejected = (
    platform: RobotPlatform,
    token: string,
    code: number,
    message: string,
    summary?: RobotMessageSummary,
  ) =>
    log.record(platform, 'robot.rejected', {
      to: token,
      data: { code, message, ...(summary ?? {}) },
    });

  // ── WeCom: POST /cgi-bin/webhook/send?key=KEY ────────────────────────────────────────────
  router.post('/cgi-bin/webhook/send', raw, (req: Request, res: Response) => {
    const key = str(req.query.key);
    const fail = (errcode: number, errmsg: string, summary?: RobotMessageSummary) => {
      rejected('wecom', key, errcode, errmsg, summary);
      res.json({ errcode, errmsg });
    };
    if (!key || robotSecret('wecom', key) === undefined) {
      return fail(
        93000,
        'invalid webhook url, hint: [sandbox], more info at https://open.work.weixin.qq.com/devtool/query?e=93000',
      );
    }
    const parsed = parseJson(req.body);
    if (!parsed.ok) return fail(40035, 'invalid parameter: request body is not a JSON object');
    const body = parsed.value;
    const msgtype = str(body.msgtype);
    const part = asRecord(body[msgtype]);
    const limits: Record<string, number> = { text: 2048, markdown: 4096, markdown_v2: 4096 };
    let text: string;
    const mentions = { mobiles: [] as string[], userIds: [] as string[], all: false };
    if (msgtype === 'text') {
      text = str(part.content);
      const ids = asStrings(part.mentioned_list);
      const mobiles = asStrings(part.mentioned_mobile_list);
      mentions.all = ids.includes('@all') || mobiles.includes('@all');
      mentions.userIds = ids.filter((v) => v !== '@all');
      mentions.mobiles = mobiles.filter((v) => v !== '@all');
    } else if (msgtype === 'markdown' || msgtype === 'markdown_v2') {
      text = str(part.content);
      mentions.userIds = [...text.matchAll(/<@([^>]+)>/g)].map((m) => m[1]);
    } else if (msgtype === 'news') {
      text = (Array.isArray(part.articles) ? part.articles : [])
        .map((a) => `${str(asRecord(a).title)} ${str(asRecord(a).description)}`.trim())
        .join('\n');
    } else {
      return fail(40008, `invalid message type: ${msgtype || '(none)'}`);
    }
    const summary: RobotMessageSummary = { msgtype, text, mentions, links: extractLinks(part) };
    if (!text.trim()) return fail(44004, 'empty content', summary);
    const limit = limits[msgtype];
    if (limit !== undefined && Buffer.byteLength(text, 'utf8') > limit) {
      return fail(
        40058,
        `${msgtype}.content exceed max length ${limit}. invalid Request Parameter`,
        summary,
      );
    }
    if (!wecomLimiter.allows(key)) return fail(45009, 'api freq out of limit', summary);
    wecomLimiter.record(key);
    accepted('wecom', key, summary);
    res.json({ errcode: 0, errmsg: 'ok' });
  });

  // ── DingTalk: POST /robot/send?access_token=T&timestamp=MS&sign=S ─────────────────────────
  router.post('/robot/send', raw, (req: Request, res: Response) => {
    const token = str(req.query.access_token);
    const fail = (errcode: number, errmsg: string, summary?: RobotMessageSummary) => {
      rejected('dingtalk', token, errcode, errmsg, summary);
      res.json({ errcode, errmsg });
    };
    const secret = token ? robotSecret('dingtalk', token) : undefined;
    if (secret === undefined) return fail(300005, 'token is not exist');
    if (secret) {
      const timestamp = str(req.query.timestamp);
      const sign = str(req.query.sign); // already URL-decoded, as DingTalk reads it
      const ts = Number(timestamp);
      if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() - ts) > TIMESTAMP_TOLERANCE_MS) {
        return fail(310000, 'invalid timestamp');
      }
      if (!sign || !sameText(sign, dingTalkSign(secret, timestamp)))
        return fail(310000, 'sign not match');
    }
    const blockedUntil = dingBlockedUntil.get(token) ?? 0;
    if (Date.now() < blockedUntil) return fail(130101, 'send too fast, exceed 20 times per minute');
    const parsed = parseJson(req.body);
    if (!parsed.ok) return fail(40035, '缺少参数 json');
    const body = parsed.value;
    const msgtype = str(body.msgtype);
    const part = asRecord(body[msgtype]);
    let text: string;
    if (msgtype === 'text') text = str(part.content);
    else if (msgtype === 'markdown') text = `${str(part.title)}\n${str(part.text)}`.trim();
    else if (msgtype === 'link' || msgtype === 'actionCard')
      text = `${str(part.title)}\n${str(part.text)}`.trim();
    else if (msgtype === 'feedCard') {
      text = (Array.isArray(part.links) ? part.links : [])
        .map((l) => str(asRecord(l).title))
        .join('\n');
    } else return fail(40035, `不支持的消息类型 ${msgtype || '(none)'}`);
    const at = asRecord(body.at);
    const summary: RobotMessageSummary = {
      msgtype,
      text,
      mentions: {
        mobiles: asStrings(at.atMobiles),
        userIds: asStrings(at.atUserIds),
        all: at.isAtAll === true,
      },
      links: extractLinks(part),
    };
    if (!text.trim()) return fail(40035, '缺少参数 content', summary);
    if (!dingLimiter.allows(token)) {
      // Over 20 a minute: the robot is throttled for 10 minutes.
      dingBlockedUntil.set(token, Date.now() + clock.real(10 * MINUTE));
      return fail(130101, 'send too fast, exceed 20 times per minute', summary);
    }
    dingLimiter.record(token);
    accepted('dingtalk', token, summary);
    res.json({ errcode: 0, errmsg: 'ok' });
  });

  // ── Feishu: POST /open-apis/bot/v2/hook/{token} ──────────────────────────────────────────
  router.post('/open-apis/bot/v2/hook/:token', raw, (req: Request, res: Response) => {
    const token = String(req.params.token);
    const fail = (code: number, msg: string, summary?: RobotMessageSummary) => {
      rejected('feishu', token, code, msg, summary);
      res.json({ code, msg, data: {} });
    };
    const secret = robotSecret('feishu', token);
    if (secret === undefined)
      return fail(19001, 'param invalid: incoming webhook access token invalid');
    const parsed = parseJson(req.body);
    if (!parsed.ok) return fail(9499, 'Bad Request');
    const body = parsed.value;
    if (secret) {
      const timestamp =
        typeof body.timestamp === 'number' ? String(body.timestamp) : str(body.timestamp);
      const sign = str(body.sign);
      const fresh =
        /^\d+$/.test(timestamp) &&
        Math.abs(Date.now() - Number(timestamp) * 1000) <= TIMESTAMP_TOLERANCE_MS;
      if (!fresh || !sign || !sameText(sign, feishuSign(secret, timestamp))) {
        return fail(19021, 'sign match fail or timestamp is not within one hour from current time');
      }
    }
    const msgType = str(body.msg_type);
    const content = asRecord(body.content);
    const card = body.card ?? content.card;
    let text: string;
    if (msgType === 'text') text = str(content.text);
    else if (msgType === 'post') text = strings(content.post).join(' ');
    else if (msgType === 'interactive') text = strings(card).join(' ');
    else if (msgType === 'share_chat' || msgType === 'image') text = strings(content).join(' ');
    else return fail(19002, `params error, msg_type need: ${msgType || '(none)'}`);
    const payload = msgType === 'interactive' ? card : content;
    const summary: RobotMessageSummary = {
      msgtype: msgType,
      text,
      mentions: { mobiles: [], userIds: [], all: false },
      links: extractLinks(payload),
    };
    for (const id of feishuMentions(payload)) {
      if (id === 'all') summary.mentions.all = true;
      else summary.mentions.userIds.push(id);
    }
    if (!text.trim()) return fail(9499, 'Bad Request', summary);
    if (!feishuLimits.allows(token)) {
      return fail(
        11232,
        'frequency limited psm[lark.oapi.app_platform_runtime]appID[sandbox]',
        summary,
      );
    }
    feishuLimits.record(token);
    accepted('feishu', token, summary);
    res.json({ StatusCode: 0, StatusMessage: 'success', code: 0, data: {}, msg: 'success' });
  });

  return router;
}

/** Feishu @mentions: `<at user_id="ou_x">` in text, `{tag:'at', user_id}` in posts, `<at id=…>` in cards. */
function feishuMentions(payload: unknown): string[] {
  const ids: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value && typeof value === 'object') {
      const rec = value as Record<string, unknown>;
      if (rec.tag === 'at' && typeof rec.user_id === 'string') ids.push(rec.user_id);
      Object.values(rec).forEach(walk);
    } else if (typeof value === 'string') {
      for (const m of value.matchAll(
        /<at\s+(?:user_id|id|open_id|email)\s*=\s*["']?([^"'\s>]+)["']?/g,
      ))
        ids.push(m[1]);
    }
  };
  walk(payload);
  return [...new Set(ids)];
}

/** Two windows that must both allow a hit (Feishu: 100 a minute and 5 a second). */
class Limiter2 {
  constructor(
    private readonly a: SlidingWindowLimiter,
    private readonly b: SlidingWindowLimiter,
  ) {}

  allows(key: string): boolean {
    return this.a.allows(key) && this.b.allows(key);
  }

  record(key: string): void {
    this.a.record(key);
    this.b.record(key);
  }
}
