import bodyParser from 'body-parser';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppException, ErrorCode } from '../errors/app.exception';
import { clientErrorOf } from '../errors/http-exception.filter';

/** Raw-text bodies: directory imports (CSV, JSON lines) and CAP XML. */
export const TEXT_TYPES = [
  'text/csv',
  'text/plain',
  'application/x-ndjson',
  'application/jsonl',
  'application/xml',
  'text/xml',
];

/** A route that takes a large text body (a roster file, a CAP alert), from callers of these roles. */
export interface LargeBodyRoute {
  method: string;
  path: RegExp;
  roles: readonly string[];
}

export interface BodyLimitsOptions {
  /** Every body of every route, and of large routes for anyone not (yet) allowed on them. */
  smallLimit: number;
  /** Text bodies of `largeRoutes`, once the bearer token is known to carry one of their roles. */
  largeLimit: number;
  largeRoutes: LargeBodyRoute[];
  /** The role of a bearer token, or null (TokensService.authenticate). */
  roleOf: (token: string) => Promise<string | null>;
}

function bearer(req: Request): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
}

function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined
  );
}

/** Keeps the exact bytes (signed webhooks are verified over them). */
const keepRaw = (req: Request, _res: Response, buf: Buffer) => {
  (req as Request & { rawBody?: Buffer }).rawBody = buf;
};

/**
 * Body parsing with a limit per route, decided before a byte of the body is read:
 * - every route: JSON, form and text bodies up to `smallLimit`;
 * - the large-text routes (imports, CAP): text up to `largeLimit`, but only when the request's
 *   bearer token is valid and has the route's role — checked here, before reading, so that an
 *   unauthenticated client can never make the gateway read a large body;
 * - a declared Content-Length over the limit is answered 413 at once, without reading, and the
 *   connection is closed so that the rest of the upload is not read either.
 * Parser errors become the gateway's JSON errors (413, 415, 400 naming `body`), never a 500.
 */
export function bodyLimits(opts: BodyLimitsOptions): RequestHandler {
  const small = [
    bodyParser.json({ limit: opts.smallLimit, verify: keepRaw }),
    bodyParser.urlencoded({ extended: false, limit: opts.smallLimit, verify: keepRaw }),
    bodyParser.text({ type: TEXT_TYPES, limit: opts.smallLimit, verify: keepRaw }),
  ];
  const large = [
    bodyParser.json({ limit: opts.smallLimit, verify: keepRaw }),
    bodyParser.urlencoded({ extended: false, limit: opts.smallLimit, verify: keepRaw }),
    // No copy of the raw bytes here: a roster can be 200 MB.
    bodyParser.text({ type: TEXT_TYPES, limit: opts.largeLimit }),
  ];

  const largeAllowed = async (req: Request): Promise<boolean> => {
    const route = opts.largeRoutes.find((r) => r.method === req.method && r.path.test(req.path));
    if (!route) return false;
    const token = bearer(req);
    if (!token) return false;
    const role = await opts.roleOf(token).catch(() => null);
    return role !== null && route.roles.includes(role);
  };

  return (req: Request, res: Response, nextOnce: NextFunction) => {
    if (!hasBody(req)) return nextOnce();
    let called = false;
    const next: NextFunction = (err?: unknown) => {
      if (called) return;
      called = true;
      nextOnce(err);
    };
    const fail = (err: unknown) => {
      if (called || res.headersSent) return;
      const mapped = clientErrorOf(err) ?? err;
      if (mapped instanceof AppException && mapped.code === ErrorCode.PayloadTooLarge) {
        // Whatever of the body is still coming is not read: the connection ends with the answer.
        res.setHeader('Connection', 'close');
      }
      next(mapped);
    };
    // The API reads JSON only (the text routes — imports, CAP — their own types): a body of
    // another type is refused, not silently ignored by a route that takes no body.
    const textRoute = opts.largeRoutes.some(
      (r) => r.method === req.method && r.path.test(req.path),
    );
    const type = req.headers['content-type'];
    if (
      req.path.startsWith('/v1/') &&
      type !== undefined &&
      !req.is(textRoute ? ['json', '+json', ...TEXT_TYPES] : ['json', '+json'])
    ) {
      return fail(
        AppException.unsupportedMediaType(
          type.slice(0, 100),
          textRoute ? `application/json, ${TEXT_TYPES.join(', ')}` : 'application/json',
        ),
      );
    }
    void (async () => {
      const useLarge = await largeAllowed(req);
      const limit = useLarge ? opts.largeLimit : opts.smallLimit;
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > limit) {
        return fail(AppException.payloadTooLarge(limit));
      }
      if (declared === undefined) {
        // Chunked: the parser would read the rest of an over-size body before failing; answer
        // as soon as the limit is passed instead.
        let seen = 0;
        const count = (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > limit) {
            req.off('data', count);
            fail(AppException.payloadTooLarge(limit));
          }
        };
        req.on('data', count);
        res.once('finish', () => req.off('data', count));
      }
      const parsers = useLarge ? large : small;
      const run = (i: number): void => {
        if (i === parsers.length) return next();
        parsers[i](req, res, (err?: unknown) => (err ? fail(err) : run(i + 1)));
      };
      run(0);
    })().catch(next);
  };
}
