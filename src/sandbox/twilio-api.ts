import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { timingSafeEqual } from 'node:crypto';
import type { EventLog } from './event-log';
import { countSegments } from './sms-segments';
import { methodOf, type TwilioCallSimulator } from './twilio-call-simulator';
import { isE164, sendTwilioError, twilioError, type TwilioErrorBody } from './twilio-errors';
import {
  API_VERSION,
  callJson,
  messageJson,
  newSid,
  type CallEvent,
  type CallRecord,
  type MessageRecord,
  type TwilioStore,
} from './twilio-resources';
import { SANDBOX_DEFAULT_NUMBER, type TwilioSmsSimulator } from './twilio-sms-simulator';

export interface TwilioApiDeps {
  accountSid: string;
  authToken: string;
  store: TwilioStore;
  sms: TwilioSmsSimulator;
  calls: TwilioCallSimulator;
  log: EventLog;
}

type Form = Record<string, string | string[] | undefined>;

function one(form: Form, key: string): string | undefined {
  const value = form[key];
  return Array.isArray(value) ? value[0] : value;
}

/** Repeated parameters (`StatusCallbackEvent=a&StatusCallbackEvent=b`) or one space-separated. */
function many(form: Form, key: string): string[] {
  const value = form[key];
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return values.flatMap((v) => v.split(/\s+/)).filter(Boolean);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const CALL_EVENTS: ReadonlySet<string> = new Set(['initiated', 'ringing', 'answered', 'completed']);

/**
 * Twilio's REST API (2010-04-01) for Messages and Calls, as the twilio SDK calls it:
 * form-encoded bodies, HTTP basic auth with the account SID and auth token, Twilio's JSON
 * resources and error bodies.
 */
export function twilioApiRouter(deps: TwilioApiDeps): Router {
  const { accountSid, authToken, store, log } = deps;
  const router = express.Router();
  const base = `/${API_VERSION}/Accounts/:accountSid`;

  const reject = (req: Request, res: Response, body: TwilioErrorBody) => {
    log.record('twilio', 'api.rejected', {
      data: {
        method: req.method,
        path: req.path,
        code: body.code,
        status: body.status,
        message: body.message,
      },
    });
    sendTwilioError(res, body);
  };

  const notFound = (req: Request, res: Response) =>
    reject(req, res, twilioError(404, 20404, `The requested resource ${req.path} was not found`));

  router.use(`/${API_VERSION}`, express.urlencoded({ extended: false, limit: '1mb' }));

  router.use(`/${API_VERSION}`, (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+(.+)$/i.exec(header);
    const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : '';
    const pass = colon >= 0 ? decoded.slice(colon + 1) : '';
    if (!safeEqual(user, accountSid) || !safeEqual(pass, authToken)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Twilio API"');
      reject(
        req,
        res,
        twilioError(401, 20003, 'Authenticate', 'Your AccountSid or AuthToken was incorrect.'),
      );
      return;
    }
    next();
  });

  router.use(`${base}`, (req: Request, res: Response, next: NextFunction) => {
    if (req.params.accountSid !== accountSid) {
      reject(
        req,
        res,
        twilioError(403, 20003, 'Authenticate', 'The account in the URL is not yours.'),
      );
      return;
    }
    next();
  });

  router.post(`${base}/Messages.json`, (req: Request, res: Response) => {
    const form = (req.body ?? {}) as Form;
    const to = one(form, 'To');
    const from = one(form, 'From');
    const serviceSid = one(form, 'MessagingServiceSid');
    const body = one(form, 'Body');
    const statusCallback = one(form, 'StatusCallback');
    if (!to) return reject(req, res, twilioError(400, 21604, "A 'To' phone number is required."));
    if (!from && !serviceSid)
      return reject(req, res, twilioError(400, 21603, "A 'From' phone number is required."));
    if (!body && !one(form, 'MediaUrl') && !one(form, 'ContentSid')) {
      return reject(req, res, twilioError(400, 21602, 'Message body is required.'));
    }
    if (!isE164(to))
      return reject(
        req,
        res,
        twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`),
      );
    if (from && from === to)
      return reject(req, res, twilioError(400, 21266, "'To' and 'From' number cannot be the same"));
    if ((body ?? '').length > 1600) {
      return reject(
        req,
        res,
        twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.'),
      );
    }
    if (statusCallback !== undefined && !isHttpUrl(statusCallback)) {
      return reject(
        req,
        res,
        twilioError(400, 21609, `Invalid StatusCallback url: ${statusCallback}`),
      );
    }
    const now = new Date();
    const message: MessageRecord = {
      sid: newSid('SM'),
      accountSid,
      to,
      // A Messaging Service picks a sender from its pool; the sandbox has one number.
      from: from ?? SANDBOX_DEFAULT_NUMBER,
      body: body ?? '',
      status: from ? 'queued' : 'accepted',
      direction: 'outbound-api',
      messagingServiceSid: serviceSid ?? null,
      numSegments: countSegments(body ?? '').segments,
      errorCode: null,
      errorMessage: null,
      statusCallback,
      dateCreated: now,
      dateUpdated: now,
      dateSent: null,
    };
    store.messages.set(message.sid, message);
    log.record('sms', 'sms.created', {
      ref: message.sid,
      to,
      data: {
        from: message.from,
        body: message.body,
        numSegments: message.numSegments,
        statusCallback: statusCallback ?? null,
      },
    });
    res.status(201).json(messageJson(message));
    deps.sms.start(message);
  });

  router.get(`${base}/Messages.json`, (req: Request, res: Response) => {
    const q = req.query as Record<string, string | undefined>;
    // DateSent, DateSent> and DateSent< filter by the UTC date, as Twilio does: on that date, on or
    // after its midnight, before the end of it.
    const day = (v: string | undefined) => (v ? Date.parse(`${v.slice(0, 10)}T00:00:00Z`) : NaN);
    const on = day(q.DateSent);
    const after = day(q['DateSent>']);
    const before = day(q['DateSent<']);
    const DAY_MS = 86_400_000;
    const items = [...store.messages.values()]
      .filter((m) => {
        if ((q.To && m.to !== q.To) || (q.From && m.from !== q.From)) return false;
        const sent = (m.dateSent ?? m.dateCreated).getTime();
        if (Number.isFinite(on) && (sent < on || sent >= on + DAY_MS)) return false;
        if (Number.isFinite(after) && sent < after) return false;
        if (Number.isFinite(before) && sent >= before + DAY_MS) return false;
        return true;
      })
      .reverse()
      .map(messageJson);
    res.json(page(req, 'messages', items));
  });

  router.get(`${base}/Messages/:sid.json`, (req: Request, res: Response) => {
    const message = store.messages.get(String(req.params.sid));
    if (!message) return notFound(req, res);
    res.json(messageJson(message));
  });

  router.post(`${base}/Calls.json`, (req: Request, res: Response) => {
    const form = (req.body ?? {}) as Form;
    const to = one(form, 'To');
    const from = one(form, 'From');
    const url = one(form, 'Url');
    const twiml = one(form, 'Twiml');
    const statusCallback = one(form, 'StatusCallback');
    const fallbackUrl = one(form, 'FallbackUrl');
    if (!to) return reject(req, res, twilioError(400, 21201, "No 'To' number is specified"));
    if (!from) return reject(req, res, twilioError(400, 21213, "No 'From' number is specified"));
    if (!isE164(to))
      return reject(
        req,
        res,
        twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`),
      );
    if (!url && !twiml) {
      return reject(req, res, twilioError(400, 21205, "A 'Url' or 'Twiml' parameter is required."));
    }
    if (url && !isHttpUrl(url))
      return reject(req, res, twilioError(400, 21205, `Url is not a valid URL: ${url}`));
    if (fallbackUrl && !isHttpUrl(fallbackUrl)) {
      return reject(
        req,
        res,
        twilioError(400, 21205, `FallbackUrl is not a valid URL: ${fallbackUrl}`),
      );
    }
    if (statusCallback !== undefined && !isHttpUrl(statusCallback)) {
      return reject(
        req,
        res,
        twilioError(400, 21609, `Invalid StatusCallback url: ${statusCallback}`),
      );
    }
    const timeoutRaw = Number.parseInt(one(form, 'Timeout') ?? '60', 10);
    const requestedEvents = many(form, 'StatusCallbackEvent').filter((e) =>
      CALL_EVENTS.has(e),
    ) as CallEvent[];
    const now = new Date();
    const call: CallRecord = {
      sid: newSid('CA'),
      accountSid,
      to,
      from,
      status: 'queued',
      url,
      method: methodOf(one(form, 'Method')),
      twiml,
      fallbackUrl,
      fallbackMethod: methodOf(one(form, 'FallbackMethod')),
      statusCallback,
      statusCallbackMethod: methodOf(one(form, 'StatusCallbackMethod')),
      // Without StatusCallbackEvent, Twilio reports only the end of the call.
      statusCallbackEvents: new Set(requestedEvents.length ? requestedEvents : ['completed']),
      timeoutSec: Number.isFinite(timeoutRaw) ? Math.min(Math.max(timeoutRaw, 1), 600) : 60,
      machineDetection: one(form, 'MachineDetection'),
      answeredBy: null,
      dateCreated: now,
      dateUpdated: now,
      startTime: null,
      endTime: null,
      duration: null,
      callbackSequence: 0,
      abort: new AbortController(),
    };
    store.calls.set(call.sid, call);
    log.record('voice', 'call.created', {
      ref: call.sid,
      to,
      data: {
        from,
        url: url ?? null,
        method: call.method,
        statusCallback: statusCallback ?? null,
        statusCallbackEvents: [...call.statusCallbackEvents],
        timeoutSec: call.timeoutSec,
      },
    });
    res.status(201).json(callJson(call));
    deps.calls.start(call);
  });

  router.get(`${base}/Calls.json`, (req: Request, res: Response) => {
    const q = req.query as Record<string, string | undefined>;
    const items = [...store.calls.values()]
      .filter((c) => (!q.To || c.to === q.To) && (!q.Status || c.status === q.Status))
      .reverse()
      .map(callJson);
    res.json(page(req, 'calls', items));
  });

  router.get(`${base}/Calls/:sid.json`, (req: Request, res: Response) => {
    const call = store.calls.get(String(req.params.sid));
    if (!call) return notFound(req, res);
    res.json(callJson(call));
  });

  router.post(`${base}/Calls/:sid.json`, (req: Request, res: Response) => {
    const call = store.calls.get(String(req.params.sid));
    if (!call) return notFound(req, res);
    const form = (req.body ?? {}) as Form;
    const status = one(form, 'Status');
    const url = one(form, 'Url');
    const twiml = one(form, 'Twiml');
    if (status !== undefined && status !== 'completed' && status !== 'canceled') {
      return reject(
        req,
        res,
        twilioError(400, 20001, `Status must be completed or canceled (got ${status})`),
      );
    }
    if (status) {
      log.record('voice', 'call.update', { ref: call.sid, to: call.to, data: { status } });
      deps.calls.hangUpFromApi(call, status);
    } else if (url || twiml) {
      if (url && !isHttpUrl(url))
        return reject(req, res, twilioError(400, 21205, `Url is not a valid URL: ${url}`));
      const source = twiml
        ? { twiml, purpose: 'api-redirect' }
        : { url: url ?? '', method: methodOf(one(form, 'Method')), purpose: 'api-redirect' };
      if (!deps.calls.redirectFromApi(call, source)) {
        return reject(
          req,
          res,
          twilioError(400, 21220, 'Call is not in-progress. Cannot redirect.'),
        );
      }
      log.record('voice', 'call.update', {
        ref: call.sid,
        to: call.to,
        data: { url: url ?? null, twiml: twiml ?? null },
      });
    }
    res.json(callJson(call));
  });

  router.use(`/${API_VERSION}`, (req: Request, res: Response) => notFound(req, res));
  return router;
}

/**
 * One page of a list, as Twilio pages them: PageSize (default 50, at most 1000) items from Page
 * (0-based), and `next_page_uri` while more are left.
 */
function page(req: Request, key: string, items: unknown[]): Record<string, unknown> {
  const q = req.query as Record<string, string | undefined>;
  const size = Math.min(Math.max(Number.parseInt(q.PageSize ?? '', 10) || 50, 1), 1000);
  const number = Math.max(Number.parseInt(q.Page ?? '', 10) || 0, 0);
  const start = number * size;
  const slice = items.slice(start, start + size);
  const path = req.originalUrl.split('?')[0];
  const uriOf = (n: number) => {
    const params = new URLSearchParams(req.query as Record<string, string>);
    params.set('PageSize', String(size));
    params.set('Page', String(n));
    return `${path}?${params.toString()}`;
  };
  return {
    [key]: slice,
    end: start + Math.max(slice.length - 1, 0),
    first_page_uri: uriOf(0),
    next_page_uri: start + size < items.length ? uriOf(number + 1) : null,
    page: number,
    page_size: size,
    previous_page_uri: number > 0 ? uriOf(number - 1) : null,
    start,
    uri: req.originalUrl,
  };
}
