import express, { type NextFunction, type Request, type Response } from 'express';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BroadcastPlatform } from './broadcast-platform';
import { EventLog, type EventFilter, type EventPredicate, type SandboxEvent } from './event-log';
import { OutboundHttp } from './http-client';
import { PersonDirectory, type PersonKind, type PersonProfile } from './person-profiles';
import { robotsRouter, type RobotSecretLookup } from './robots';
import { sandboxRoutes } from './sandbox-routes';
import { SimClock } from './sim-clock';
import { SmtpCatcher, type CapturedEmail } from './smtp-catcher';
import { twilioApiRouter } from './twilio-api';
import { TwilioCallSimulator } from './twilio-call-simulator';
import { TwilioStore } from './twilio-resources';
import { TwilioSmsSimulator } from './twilio-sms-simulator';
import { TwilioWebhookSender } from './twilio-webhook-sender';

export interface SandboxCarrierOptions {
  /** HTTP port; 0 (the default) picks a free one. */
  port?: number;
  host?: '127.0.0.1';
  /** The credentials the gateway's twilio client must use (basic auth) and that sign webhooks. */
  twilio: { accountSid: string; authToken: string };
  /** Where replies to our numbers are posted, like a Twilio number's "A message comes in" webhook. */
  smsInboundUrl?: string;
  /** A robot's signing secret; undefined = no such robot, '' = robot without signing. */
  robotSecret: RobotSecretLookup;
  /** Key for `X-Broadcast-Signature` (both directions). */
  broadcastSecret: string;
  /** Chooses the simulated people and failing terminals (default 1). */
  seed?: number;
  /** Multiplies every simulated delay (default 1: real time; tests use ~0.01). */
  timeScale?: number;
  /** SMTP port; 0 (the default) picks a free one. */
  smtpPort?: number;
}

/**
 * A local stand-in for every provider the gateway talks to, reached over real HTTP/SMTP so the
 * gateway's real code paths run: Twilio's REST API (driven by the real twilio SDK) with its
 * signed webhooks and simulated people who answer, press keys, reply or don't; WeCom, DingTalk
 * and Feishu group robots; the emergency-broadcast platform; an SMTP catcher.
 * See src/sandbox/README.md.
 */
export class SandboxCarrier {
  /** `http://127.0.0.1:PORT`: the Twilio API base URL and the root of every other endpoint. */
  readonly baseUrl: string;
  readonly smtpPort: number;

  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly server: http.Server,
    private readonly smtp: SmtpCatcher,
    private readonly log: EventLog,
    private readonly clock: SimClock,
    private readonly outbound: OutboundHttp,
    private readonly people: PersonDirectory,
    private readonly broadcast: BroadcastPlatform,
    readonly options: Readonly<SandboxCarrierOptions>,
  ) {
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://${options.host ?? '127.0.0.1'}:${port}`;
    this.smtpPort = smtp.port;
  }

  static async start(opts: SandboxCarrierOptions): Promise<SandboxCarrier> {
    const { accountSid, authToken } = opts.twilio;
    if (!/^AC[0-9a-zA-Z]{32}$/.test(accountSid)) {
      throw new Error('twilio.accountSid must look like a Twilio account SID (AC + 32 characters)');
    }
    if (!authToken) throw new Error('twilio.authToken is required');
    if (!opts.broadcastSecret) throw new Error('broadcastSecret is required');
    const host = opts.host ?? '127.0.0.1';
    const seed = opts.seed ?? 1;

    const log = new EventLog();
    const clock = new SimClock(opts.timeScale ?? 1);
    const outbound = new OutboundHttp();
    const people = new PersonDirectory(seed);
    const store = new TwilioStore();
    const webhooks = new TwilioWebhookSender(authToken, outbound, log);
    const sms = new TwilioSmsSimulator(
      { accountSid, smsInboundUrl: opts.smsInboundUrl },
      store,
      people,
      clock,
      webhooks,
      log,
    );
    const calls = new TwilioCallSimulator(people, clock, webhooks, log);
    const broadcast = new BroadcastPlatform({
      secret: opts.broadcastSecret,
      seed,
      clock,
      http: outbound,
      log,
    });
    const smtp = new SmtpCatcher(log);

    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(twilioApiRouter({ accountSid, authToken, store, sms, calls, log }));
    app.use(robotsRouter({ robotSecret: opts.robotSecret, clock, log }));
    app.use(broadcast.router());
    let describe: () => Record<string, unknown> = () => ({});
    app.use(sandboxRoutes({ log, smtp, people, describe: () => describe() }));
    app.use((_req: Request, res: Response) => {
      res.status(404).json({ error: 'not_found' });
    });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const status = (err as { status?: number }).status ?? 500;
      res
        .status(status)
        .json({ error: status === 500 ? 'internal_error' : 'bad_request', message: String(err) });
    });

    const server = http.createServer(app);
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      await smtp.start(opts.smtpPort ?? 0, host);
    } catch (err) {
      server.close();
      throw err;
    }
    const carrier = new SandboxCarrier(server, smtp, log, clock, outbound, people, broadcast, opts);
    describe = () => carrier.describe();
    return carrier;
  }

  /** Where each provider lives, for configuring the gateway. */
  urls(): {
    twilioApiBaseUrl: string;
    wecom: (key: string) => string;
    dingtalk: (accessToken: string) => string;
    feishu: (token: string) => string;
    broadcastTasks: string;
    smtp: { host: string; port: number };
    events: string;
    mail: string;
  } {
    const base = this.baseUrl;
    return {
      twilioApiBaseUrl: base,
      wecom: (key) => `${base}/cgi-bin/webhook/send?key=${encodeURIComponent(key)}`,
      dingtalk: (token) => `${base}/robot/send?access_token=${encodeURIComponent(token)}`,
      feishu: (token) => `${base}/open-apis/bot/v2/hook/${encodeURIComponent(token)}`,
      broadcastTasks: `${base}/broadcast/v1/tasks`,
      smtp: { host: this.options.host ?? '127.0.0.1', port: this.smtpPort },
      events: `${base}/sandbox/events`,
      mail: `${base}/sandbox/mail`,
    };
  }

  private describe(): Record<string, unknown> {
    const u = this.urls();
    return {
      sandbox: 'warning-gateway sandbox carrier',
      timeScale: this.clock.timeScale,
      seed: this.options.seed ?? 1,
      twilioApiBaseUrl: u.twilioApiBaseUrl,
      wecom: `${this.baseUrl}/cgi-bin/webhook/send?key={key}`,
      dingtalk: `${this.baseUrl}/robot/send?access_token={token}&timestamp={ms}&sign={sign}`,
      feishu: `${this.baseUrl}/open-apis/bot/v2/hook/{token}`,
      broadcastTasks: u.broadcastTasks,
      smtp: u.smtp,
      events: u.events,
      mail: u.mail,
    };
  }

  /** Overrides the simulated person behind a number (a preset kind or a full profile). */
  setProfile(e164: string, profile: PersonProfile | PersonKind): void {
    this.people.set(e164, profile);
  }

  /** The simulated person behind a number (explicit, or derived from the seed). */
  profileOf(e164: string): PersonProfile {
    return this.people.get(e164);
  }

  /** Forces a broadcast terminal online or offline (else the seed decides; ~10% are offline). */
  setTerminalStatus(terminalCode: string, status: 'online' | 'offline'): void {
    this.broadcast.setTerminalStatus(terminalCode, status);
  }

  events(filter?: EventFilter | EventPredicate): SandboxEvent[] {
    return this.log.list(filter);
  }

  /** Calls `listener` for every new event; returns the unsubscribe function. */
  onEvent(listener: (event: SandboxEvent) => void): () => void {
    return this.log.subscribe(listener);
  }

  /** The first event, already logged or yet to come, that matches; rejects after `timeoutMs`. */
  waitFor(predicate: EventFilter | EventPredicate, timeoutMs = 5_000): Promise<SandboxEvent> {
    return this.log.waitFor(predicate, timeoutMs);
  }

  sentEmails(): CapturedEmail[] {
    return this.smtp.list();
  }

  /** Stops every simulation, aborts outgoing webhooks, closes the HTTP and SMTP servers. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.clock.stop();
      this.outbound.close();
      this.log.close();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      await Promise.all([closed, this.smtp.stop()]);
    })();
    return this.stopping;
  }
}
