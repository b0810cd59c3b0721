import express, { type Request, type Response, type Router } from 'express';
import type { EventFilter, EventLog, SandboxChannel } from './event-log';
import type { PersonDirectory } from './person-profiles';
import type { SmtpCatcher } from './smtp-catcher';

/**
 * The sandbox's own inspection endpoints (not a provider API): the event log, the captured
 * e-mails, and the simulated person behind a number.
 */
export function sandboxRoutes(deps: {
  log: EventLog;
  smtp: SmtpCatcher;
  people: PersonDirectory;
  describe: () => Record<string, unknown>;
}): Router {
  const router = express.Router();

  router.get('/sandbox', (_req: Request, res: Response) => {
    res.json(deps.describe());
  });

  router.get('/sandbox/events', (req: Request, res: Response) => {
    const q = req.query as Record<string, string | undefined>;
    const filter: EventFilter = {
      ...(q.channel ? { channel: q.channel as SandboxChannel } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.ref ? { ref: q.ref } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.since && /^\d+$/.test(q.since) ? { since: Number(q.since) } : {}),
    };
    res.json(deps.log.list(filter));
  });

  router.get('/sandbox/mail', (_req: Request, res: Response) => {
    res.json(deps.smtp.list());
  });

  router.get('/sandbox/profiles/:e164', (req: Request, res: Response) => {
    res.json(deps.people.get(String(req.params.e164)));
  });

  return router;
}
