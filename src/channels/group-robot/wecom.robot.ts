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
 * WeCom (企业微信) group robot: `POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`,
 * JSON `{ msgtype, … }`, answered `{ errcode, errmsg }` with HTTP 200 whatever happened.
 *
 * Mentions. A markdown message can @ people only by WeCom userid (`<@userid>` in the content,
 * which the template writes); `mentioned_mobile_list` exists only on `text` messages. So when a
 * part mentions people we know only by mobile number, the markdown is followed by a short text
 * message whose `mentioned_mobile_list` @s them ("please read the warning above"). That follow-up
 * is best effort: the warning itself is in the group already, and people who do not confirm are
 * escalated anyway, so its failure is reported through `warn` (receipt status
 * `ok_mentions_failed`), not as a failed send. The follow-up counts against the robot's 20/min:
 * with `paceExtraRequest` (as ChannelsModule builds it) it waits for its own slot just before it
 * goes out; without, `requestsFor` asks the caller to take 2 slots up front.
 */
export const WECOM_LIMITS = { markdownBytes: 4096, textBytes: 2048 } as const;

/** WeCom errcodes (global error codes of the WeCom API that the webhook returns). */
export const WECOM_ERRORS = {
  /** api freq out of limit: over 20 messages a minute on this robot. */
  rateLimited: 45009,
  /** api concurrent out of limit. */
  concurrency: 45033,
  /** content exceeds max length / invalid content. */
  invalidContent: 40058,
  /** invalid webhook url (unknown or deleted key). */
  invalidKey: 93000,
  invalidMessageType: 40008,
  emptyContent: 44004,
  invalidParameter: 40035,
  /** system busy. */
  busy: -1,
} as const;

const RATE_LIMIT_RETRY_MS = 60_000;

export function wecomChannelError(errcode: number, errmsg: string, what: string): ChannelError {
  const code = String(errcode);
  const message = `${what} refused the message: ${errcode} ${errmsg}`;
  switch (errcode) {
    case WECOM_ERRORS.rateLimited:
      return new ChannelError('rate_limited', code, message, RATE_LIMIT_RETRY_MS);
    case WECOM_ERRORS.concurrency:
      return new ChannelError('rate_limited', code, message, 5_000);
    case WECOM_ERRORS.busy:
      return new ChannelError('transient', code, message);
    default:
      // 93000 bad key, 40058 content, 40008/40035/44004 request: the same request fails again.
      return new ChannelError('permanent', code, message);
  }
}

export class WeComRobotClient implements GroupRobotClient {
  readonly platform = 'wecom' as const;

  constructor(private readonly options: RobotClientOptions = {}) {}

  /** People to @ by mobile: mentioned without a WeCom userid. */
  private mobileOnly(message: RobotSendMessage): string[] {
    const mobiles = message.mentions.flatMap((m) =>
      !m.userId && m.mobile ? [nationalMobile(m.mobile)] : [],
    );
    return [...new Set(mobiles)];
  }

  /** Slots to take before `send`. */
  requestsFor(message: RobotSendMessage): number {
    return this.mobileOnly(message).length && !this.options.paceExtraRequest ? 2 : 1;
  }

  async send(robot: RobotTarget, message: RobotSendMessage): Promise<SendReceipt> {
    const what = robotName(this.platform, robot);
    if (!message.markdown.trim())
      throw new ChannelError('permanent', 'empty', `${what}: empty message`);
    assertWithinBytes(what, 'markdown content', message.markdown, WECOM_LIMITS.markdownBytes);
    const url = webhookUrlFor(this.platform, robot, this.options.apiBaseUrl).toString();
    await this.post(url, { msgtype: 'markdown', markdown: { content: message.markdown } }, what);

    const mobiles = this.mobileOnly(message);
    if (mobiles.length) {
      try {
        await this.options.paceExtraRequest?.(this.platform, robot);
        await this.post(url, this.mentionFollowUp(message, mobiles), what);
      } catch (err) {
        this.options.warn?.(`${what}: the @mobile follow-up failed (${(err as Error).message})`);
        return { ...robotReceipt(this.platform), status: 'ok_mentions_failed' };
      }
    }
    return robotReceipt(this.platform);
  }

  /** The text message that @s people by mobile number, within WeCom's 2048-byte text limit. */
  mentionFollowUp(message: RobotSendMessage, mobiles: string[]): Record<string, unknown> {
    const english = !/[\u3400-\u9fff]/.test(message.title);
    const title = message.title.length > 120 ? `${message.title.slice(0, 119)}…` : message.title;
    const content = english
      ? `${title}: please read the warning above and open your own confirmation link.`
      : `${title}：请以下人员查看上条预警，并点击各自的确认链接。`;
    assertWithinBytes('WeCom mention follow-up', 'text content', content, WECOM_LIMITS.textBytes);
    return { msgtype: 'text', text: { content, mentioned_mobile_list: mobiles } };
  }

  private async post(url: string, payload: Record<string, unknown>, what: string): Promise<void> {
    const res = await postJson(url, JSON.stringify(payload), {
      what,
      timeoutMs: this.options.timeoutMs,
    });
    const errcode = isRecord(res.json) ? res.json.errcode : undefined;
    if (typeof errcode === 'number' && errcode !== 0) {
      throw wecomChannelError(
        errcode,
        String((res.json as { errmsg?: unknown }).errmsg ?? ''),
        what,
      );
    }
    if (res.status < 200 || res.status >= 300)
      throw httpStatusError(res, what, RATE_LIMIT_RETRY_MS);
    if (errcode !== 0) {
      throw new ChannelError(
        'transient',
        'bad_answer',
        `${what} answered something that is not WeCom's JSON`,
      );
    }
  }
}
