import { randomUUID } from 'node:crypto';
import type { RobotPlatform } from '../../common/domain/directory.types';
import type { RobotTarget } from '../channel.interface';
import { ChannelError, type SendReceipt } from '../channel.types';

/** What every robot client is built with. */
export interface RobotClientOptions {
  /**
   * WECOM_/DINGTALK_/FEISHU_API_BASE_URL: the stored webhook URL's origin is replaced by this one
   * (its path, if any, is put in front; the webhook's path and query are kept).
   */
  apiBaseUrl?: string;
  /** HTTP timeout, default 10 s. */
  timeoutMs?: number;
  /** Where notes that are not errors go (e.g. a mention follow-up that failed). */
  warn?: (message: string) => void;
  /**
   * Waits for the robot's rate-limit slot before a request the caller did not take a slot for
   * (WeCom's @mobile follow-up). ChannelsModule wires it to ProviderRateLimiter, so each request
   * goes out right after its own slot. Without it, requestsFor counts the follow-up instead.
   */
  paceExtraRequest?: (platform: RobotPlatform, robot: RobotTarget) => Promise<unknown>;
}

export const PLATFORM_NAMES: Record<RobotPlatform, string> = {
  wecom: 'WeCom',
  dingtalk: 'DingTalk',
  feishu: 'Feishu',
};

/** "WeCom robot 'grid-7'": how messages name a robot (never by its URL, which holds the key). */
export function robotName(platform: RobotPlatform, robot: RobotTarget): string {
  return `${PLATFORM_NAMES[platform]} robot${robot.code ? ` '${robot.code}'` : ''}`;
}

/** The webhook URL to call: validated, and re-based onto `apiBaseUrl` when one is configured. */
export function webhookUrlFor(
  platform: RobotPlatform,
  robot: RobotTarget,
  apiBaseUrl?: string,
): URL {
  let url: URL;
  try {
    url = new URL(robot.webhookUrl);
  } catch {
    throw new ChannelError(
      'permanent',
      'invalid_webhook_url',
      `${robotName(platform, robot)}: the webhook URL is not a URL`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ChannelError(
      'permanent',
      'invalid_webhook_url',
      `${robotName(platform, robot)}: the webhook URL is not http(s)`,
    );
  }
  if (!apiBaseUrl) return url;
  const base = new URL(apiBaseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  return new URL(`${base.origin}${prefix}${url.pathname}${url.search}`);
}

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Refuses, before any request, what the vendor would refuse as too long. */
export function assertWithinBytes(what: string, field: string, value: string, limit: number): void {
  const bytes = utf8Bytes(value);
  if (bytes > limit) {
    throw new ChannelError(
      'permanent',
      'too_long',
      `${what}: ${field} is ${bytes} bytes, the limit is ${limit}`,
    );
  }
}

/** `+8613800000000` → `13800000000`: the robots @ mainland users by the national number. */
export function nationalMobile(mobile: string): string {
  const m = mobile.replace(/[\s-]/g, '');
  return m.startsWith('+86') ? m.slice(3) : m.startsWith('0086') ? m.slice(4) : m;
}

/** Robots return no message id: the receipt carries one of ours so the attempt can cite it. */
export function robotReceipt(platform: RobotPlatform): SendReceipt {
  return { providerId: `${platform}_${randomUUID()}`, status: 'ok' };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
