import { createHmac } from 'node:crypto';
import type { GroupRobotClient, RobotSendMessage, RobotTarget } from '../channel.interface';
import { ChannelError, type SendReceipt } from '../channel.types';
import { httpStatusError, postJson } from '../http/provider-http';
import {
  assertWithinBytes,
  isRecord,
  nationalMobile,
  robotName,
  robotReceipt,
  webhookUrlFor,
  type RobotClientOptions,
} from './robot-common';

/**
 * DingTalk (钉钉) custom robot: `POST https://oapi.dingtalk.com/robot/send?access_token=T`, with
 * `&timestamp=MS&sign=S` when the robot signs (加签), JSON markdown with an `at` object:
 * `{ msgtype: 'markdown', markdown: { title, text }, at: { atMobiles, atUserIds } }`. DingTalk
 * answers `{ errcode, errmsg }` with HTTP 200. People are @'d by mainland mobile number or
 * userId; the text must contain `@<number>` for each, so +86 numbers are written nationally in
 * both places.
 */
export const DINGTALK_LIMITS = { markdownBytes: 20_000 } as const;

export const DINGTALK_ERRORS = {
  /** send too fast, exceed 20 times per minute: the robot is now blocked for 10 minutes. */
  sendTooFast: 130101,
  /** sign not match / invalid timestamp / keywords not in content / IP not in whitelist. */
  securityCheck: 310000,
  /** token is not exist (robot removed). */
  tokenNotExist: 300005,
  /** system busy. */
  busy: -1,
} as const;

/** After 130101 DingTalk refuses the robot's messages for 10 minutes. */
const BLOCKED_MS = 10 * 60_000;

/** sign = base64(HmacSHA256(key = secret, `${timestampMs}\n${secret}`)); sent URL-encoded. */
export function dingTalkSignature(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export function dingTalkChannelError(errcode: number, errmsg: string, what: string): ChannelError {
  const code = String(errcode);
  const message = `${what} refused the message: ${errcode} ${errmsg}`;
  if (errcode === DINGTALK_ERRORS.sendTooFast) {
    return new ChannelError('rate_limited', code, message, BLOCKED_MS);
  }
  if (/too fast|限流/i.test(errmsg)) return new ChannelError('rate_limited', code, message, 60_000);
  if (errcode === DINGTALK_ERRORS.busy) return new ChannelError('transient', code, message);
  // 310000 (signature, keyword, IP), 300005 (token), 400013 (group gone), 43xxxx (content): the
  // same request fails again.
  return new ChannelError('permanent', code, message);
}

export class DingTalkRobotClient implements GroupRobotClient {
  readonly platform = 'dingtalk' as const;

  constructor(
    private readonly options: RobotClientOptions = {},
    private readonly now: () => number = Date.now,
  ) {}

  requestsFor(): number {
    return 1;
  }

  /** The request body: +86 mobiles written as national numbers in `at` and in the text. */
  body(message: RobotSendMessage): Record<string, unknown> {
    let text = message.markdown;
    const atMobiles: string[] = [];
    for (const mobile of message.atMobiles) {
      const national = nationalMobile(mobile);
      if (national !== mobile) text = text.split(`@${mobile}`).join(`@${national}`);
      atMobiles.push(national);
    }
    return {
      msgtype: 'markdown',
      markdown: { title: message.title, text },
      at: { atMobiles: [...new Set(atMobiles)], atUserIds: message.atUserIds, isAtAll: false },
    };
  }

  async send(robot: RobotTarget, message: RobotSendMessage): Promise<SendReceipt> {
    const what = robotName(this.platform, robot);
    if (!message.markdown.trim())
      throw new ChannelError('permanent', 'empty', `${what}: empty message`);
    const body = this.body(message);
    assertWithinBytes(
      what,
      'markdown text',
      (body.markdown as { text: string }).text,
      DINGTALK_LIMITS.markdownBytes,
    );
    const url = webhookUrlFor(this.platform, robot, this.options.apiBaseUrl);
    if (robot.secret) {
      const timestamp = this.now();
      url.searchParams.set('timestamp', String(timestamp));
      url.searchParams.set('sign', dingTalkSignature(robot.secret, timestamp));
    }
    const res = await postJson(url.toString(), JSON.stringify(body), {
      what,
      timeoutMs: this.options.timeoutMs,
    });
    const errcode = isRecord(res.json) ? res.json.errcode : undefined;
    if (typeof errcode === 'number' && errcode !== 0) {
      throw dingTalkChannelError(
        errcode,
        String((res.json as { errmsg?: unknown }).errmsg ?? ''),
        what,
      );
    }
    if (res.status < 200 || res.status >= 300) throw httpStatusError(res, what);
    if (errcode !== 0) {
      throw new ChannelError(
        'transient',
        'bad_answer',
        `${what} answered something that is not DingTalk's JSON`,
      );
    }
    return robotReceipt(this.platform);
  }
}
