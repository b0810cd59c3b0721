import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { type RateLimitStore, storeLimiter } from '../../channels/resilience/provider-rate-limiter';
import { AppException } from '../errors/app.exception';

export interface RateLimitsOptions {
  /** Window of every counter, in seconds. */
  windowSeconds: number;
  /**
   * Failed authentications per client IP and window (0: no limit): a 401 on the API, a forged or
   * malformed confirmation link (404 on /c/…). Past it, the IP's requests get 429 until the
   * window ends. Webhooks with a bad signature (403) are counted apart, by the same number.
   */
  failures: number;
  /** Requests per client IP and window to the public pages (/c/…, /console, /docs, /health, /metrics). */
  publicRequests: number;
  /**
   * Where the counters live: the store the providers' rate limits share (Redis, or Postgres),
   * so that every API process counts together and a restart forgets nothing. Default: in this
   * process only.
   */
  store?: RateLimitStore;
  /** Keeps these counters apart from others in the store (e.g. the queue prefix). */
  keyPrefix?: string;
}

type RouteClass = 'webhook' | 'public' | 'api';

const PUBLIC_PREFIXES = ['/c/', '/console', '/docs', '/health', '/metrics'];

export function routeClassOf(path: string): RouteClass {
  if (path.startsWith('/webhooks/')) return 'webhook';
  if (PUBLIC_PREFIXES.some((p) => path.startsWith(p))) return 'public';
  return 'api';
}

/** Whether an answer counts against the client as a failed authentication. */
function isFailure(cls: RouteClass, path: string, status: number): boolean {
  if (cls === 'webhook') return status === 403; // bad or missing provider signature
  if (path.startsWith('/c/')) return status === 404; // forged or malformed link (not expired: 410)
  return status === 401;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Keys this process remembers as having failed lately, at most (oldest forgotten first). */
const MAX_SUSPECTS = 100_000;

/**
 * Per-IP limits for traffic that has not proven who it is, in front of everything else (before
 * the body is read):
 * - failed authentications (bad bearer tokens, forged links, unsigned webhooks) are counted per IP
 *   once answered; an IP past `failures` in the window is answered 429 with Retry-After.
 *   Webhooks are counted under their own key: a provider whose callbacks are correctly signed is
 *   never counted, however many it sends (a county-wide warning brings thousands), and a forged
 *   flood on the webhooks does not lock anyone out of the API or the links;
 * - the public pages are limited to `publicRequests` per IP and window.
 * Valid tokens and signed webhooks cost nothing: the shared store is read only for a client this
 * process has itself seen fail within the window (its count in the store is then read before
 * each of its requests, so that every process's failures add up). A client that failed only on
 * other processes gets one more failure through here before this process reads its count — at
 * most one extra per API process and window. Counters live in the shared store (all API
 * processes count together; while the store is unreachable each process counts on its own); the
 * client IP is `req.ip` (set TRUST_PROXY behind a reverse proxy).
 */
export function rateLimits(opts: RateLimitsOptions): RequestHandler {
  const store = opts.store ?? { kind: 'memory' as const };
  const prefix = opts.keyPrefix ? `${opts.keyPrefix}:` : '';
  const limiter = (name: string, points: number): RateLimiterAbstract | undefined =>
    points > 0
      ? storeLimiter(store, {
          keyPrefix: `${prefix}http:${name}`,
          points,
          duration: opts.windowSeconds,
        })
      : undefined;
  const failures = limiter('fail', opts.failures);
  const publicPages = limiter('public', opts.publicRequests);
  // A failure is counted once its answer is sent; the same client's next request waits for that
  // count to land, so the limit holds exactly however fast the store answers.
  const counting = new Map<string, Promise<unknown>>();
  // Failure keys this process counted a failure for, until their window ends (ms since epoch).
  const suspects = new Map<string, number>();
  const suspect = (key: string, msBeforeNext: number) => {
    suspects.delete(key); // re-inserted last: the map stays ordered by last failure
    suspects.set(key, Date.now() + Math.max(msBeforeNext, 1000));
    if (suspects.size > MAX_SUSPECTS) {
      const now = Date.now();
      for (const [k, until] of suspects) {
        if (suspects.size <= MAX_SUSPECTS && until > now) break;
        suspects.delete(k);
      }
    }
  };
  const isSuspect = (key: string) => {
    const until = suspects.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    suspects.delete(key);
    return false;
  };
  const windowMs = opts.windowSeconds * 1000;

  return (req: Request, res: Response, next: NextFunction) => {
    const path = req.path;
    const cls = routeClassOf(path);
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const failKey = `${cls === 'webhook' ? 'webhook' : 'auth'}:${ip}`;
    const countFailures = () => {
      if (!failures) return;
      res.once('finish', () => {
        if (!isFailure(cls, path, res.statusCode)) return;
        suspect(failKey, windowMs);
        const counted = failures.consume(failKey).then(
          (r) => suspect(failKey, r.msBeforeNext),
          (r: unknown) => {
            // Past the limit (consume rejects with the counter), or the store failed.
            if (r instanceof RateLimiterRes) suspect(failKey, r.msBeforeNext);
          },
        );
        counting.set(failKey, counted);
        void counted.then(() => {
          if (counting.get(failKey) === counted) counting.delete(failKey);
        });
      });
    };
    // The hot path: a client this process has not seen fail, on a route with no per-request
    // limit (signed webhooks, valid tokens), costs nothing but this lookup.
    if (cls !== 'public' && !isSuspect(failKey)) {
      countFailures();
      return next();
    }
    void (async () => {
      if (failures && isSuspect(failKey)) {
        await counting.get(failKey);
        const seen = await failures.get(failKey);
        if (seen && seen.consumedPoints >= opts.failures) {
          return next(AppException.rateLimited(seconds(seen.msBeforeNext)));
        }
      }
      if (cls === 'public' && publicPages) await publicPages.consume(ip);
      countFailures();
      next();
    })().catch((err: unknown) => {
      if (err instanceof RateLimiterRes) next(AppException.rateLimited(seconds(err.msBeforeNext)));
      else next(err);
    });
  };
}
