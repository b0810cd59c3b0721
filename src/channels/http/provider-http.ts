import { ChannelError } from '../channel.types';

/**
 * The one HTTP call of the JSON providers (group robots, broadcast platform): a POST with a
 * timeout, failures turned into ChannelErrors. URLs are never put into messages (a robot's URL
 * carries its key).
 */
export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it was not JSON. */
  json: unknown;
}

export interface PostJsonOptions {
  headers?: Record<string, string>;
  /** Default 10 s. */
  timeoutMs?: number;
  /** Names the target in error messages, e.g. "WeCom robot 'grid-7'". */
  what: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function causeCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

export async function postJson(
  url: string,
  body: string,
  opts: PostJsonOptions,
): Promise<JsonResponse> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', ...(opts.headers ?? {}) },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    const name = (err as { name?: string } | null)?.name;
    const code =
      name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : (causeCode(err) ?? 'network');
    throw new ChannelError('transient', code, `${opts.what} did not answer (${code})`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch {
    throw new ChannelError('transient', 'network', `${opts.what}: the answer was cut off`);
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** `Retry-After` in milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * A non-2xx HTTP answer: 429 → rate_limited (Retry-After, else `defaultRetryMs`), 5xx →
 * transient, other 4xx → permanent.
 */
export function httpStatusError(
  res: JsonResponse,
  what: string,
  defaultRetryMs = 60_000,
): ChannelError {
  const code = `HTTP_${res.status}`;
  if (res.status === 429) {
    return new ChannelError(
      'rate_limited',
      code,
      `${what} answered HTTP 429`,
      retryAfterMs(res.headers) ?? defaultRetryMs,
    );
  }
  if (res.status >= 500)
    return new ChannelError('transient', code, `${what} answered HTTP ${res.status}`);
  return new ChannelError('permanent', code, `${what} answered HTTP ${res.status}`);
}
