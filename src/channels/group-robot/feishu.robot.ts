import { createHmac } from 'node:crypto';
import type { GroupRobotClient, RobotSendMessage, RobotTarget } from '../channel.interface';
import { ChannelError, type SendReceipt } from '../channel.types';
import { httpStatusError, postJson } from '../http/provider-http';
import {
  assertWithinBytes,
  isRecord,
  robotName,
  robotReceipt,
  webhookUrlFor,
  type RobotClientOptions,
} from './robot-common';

/**
 * Feishu (飞书) custom robot: `POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`. The
 * message is an `interactive` card (header = title, one markdown element) because card markdown
 * is where `<at id=open_id></at>` mentions work (the template writes them). A signing robot gets
 * `timestamp` (seconds) and `sign` in the body. Feishu answers `{ code, msg, data }`.
 * Limits (自定义机器人使用指南): request body at most 20 KB; 100 requests a minute and 5 a
 * second per robot (11232 when exceeded or when Feishu is under load at round hours).
 */
export const FEISHU_LIMITS = { bodyBytes: 20 * 1024 } as const;

export const FEISHU_ERRORS = {
  /** frequency limited. */
  frequencyLimited: 11232,
  /** Bad Request (malformed or over 20 KB) — or "too many request" on some hosts. */
  badRequest: 9499,
  /** incoming webhook access token invalid. */
  invalidToken: 19001,
  /** params error, msg_type. */
  paramsError: 19002,
  /** sign match fail or timestamp is not within one hour from current time. */
  signMismatch: 19021,
  /** Ip Not Allowed (IP whitelist). */
  ipNotAllowed: 19022,
  /** Key Words Not Found (keyword security setting). */
  keywordsNotFound: 19024,
} as const;

/** sign = base64(HmacSHA256(key = `${timestampSec}\n${secret}`, data = '')). */
export function feishuSignature(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

export function feishuChannelError(code: number, msg: string, what: string): ChannelError {
  const c = String(code);
  const message = `${what} refused the message: ${code} ${msg}`;
  if (code === FEISHU_ERRORS.frequencyLimited)
    return new ChannelError('rate_limited', c, message, 10_000);
  if (code === FEISHU_ERRORS.badRequest && /too many|frequen|limit/i.test(msg)) {
    return new ChannelError('rate_limited', c, message, 60_000);
  }
  // 19021 signature/clock, 19022 IP, 19024 keyword, 19001 token, 19002/9499 request.
  return new ChannelError('permanent', c, message);
}

/** Card header colour from the title's level wording. */
export function feishuHeaderTemplate(title: string): string {
  if (/解除|lifted|cancel/i.test(title)) return 'green';
  if (/红色|\bred\b/i.test(title)) return 'red';
  if (/橙色|\borange\b/i.test(title)) return 'orange';
  if (/黄色|\byellow\b/i.test(title)) return 'yellow';
  if (/蓝色|\bblue\b/i.test(title)) return 'blue';
  return 'turquoise';
}

export class FeishuRobotClient implements GroupRobotClient {
  readonly platform = 'feishu' as const;

  constructor(
    private readonly options: RobotClientOptions = {},
    private readonly now: () => number = Date.now,
  ) {}

  requestsFor(): number {
    return 1;
  }

  /** The request body (signed when the robot has a secret). */
  body(robot: RobotTarget, message: RobotSendMessage): Record<string, unknown> {
    const card = {
      config: { wide_screen_mode: true },
      header: {
        title: { tag: 'plain_text', content: message.title },
        template: feishuHeaderTemplate(message.title),
      },
      elements: [{ tag: 'markdown', content: message.markdown }],
    };
    const signed = robot.secret
      ? (() => {
          const timestamp = Math.floor(this.now() / 1000);
          return { timestamp: String(timestamp), sign: feishuSignature(robot.secret, timestamp) };
        })()
      : {};
    return { ...signed, msg_type: 'interactive', card };
  }

  async send(robot: RobotTarget, message: RobotSendMessage): Promise<SendReceipt> {
    const what = robotName(this.platform, robot);
    if (!message.markdown.trim())
      throw new ChannelError('permanent', 'empty', `${what}: empty message`);
    const body = JSON.stringify(this.body(robot, message));
    assertWithinBytes(what, 'request body', body, FEISHU_LIMITS.bodyBytes);
    const url = webhookUrlFor(this.platform, robot, this.options.apiBaseUrl).toString();
    const res = await postJson(url, body, { what, timeoutMs: this.options.timeoutMs });
    const json = res.json;
    const code = isRecord(json) ? (json.code ?? json.StatusCode) : undefined;
    // Feishu's own code says more than the HTTP status (it sends 400 with code 9499, 19021…).
    if (typeof code === 'number' && code !== 0) {
      const msg = isRecord(json) ? String(json.msg ?? json.StatusMessage ?? '') : '';
      throw feishuChannelError(code, msg, what);
    }
    if (res.status < 200 || res.status >= 300) throw httpStatusError(res, what);
    if (code !== 0) {
      throw new ChannelError(
        'transient',
        'bad_answer',
        `${what} answered something that is not Feishu's JSON`,
      );
    }
    return robotReceipt(this.platform);
  }
}
