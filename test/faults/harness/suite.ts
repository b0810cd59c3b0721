import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Pool } from 'pg';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import twilio from 'twilio';
import { type RunningSandbox, startSandbox } from '../../../src/bootstrap/sandbox';
import { ProviderLog } from './provider-log';
import { ProviderFaultProxy } from './provider-proxy';
import { freePort, GatewayProcess, runCli, sleep } from './processes';
import { TcpFaultProxy } from './tcp-proxy';
import { WebhookProxy } from './webhook-proxy';

export const COUNTY = '513221';

/** The servers a suite runs on: one Postgres server (a database per scenario) and one Redis. */
export interface SuiteInfra {
  /** Superuser URL of the server's `postgres` database. */
  pgAdminUrl: string;
  redisUrl: string;
  /** Stops Redis (SIGTERM: it writes its append-only file) and starts it again on the same data. */
  restartRedis(downMs: number): Promise<void>;
  /** FLUSHALL: Redis emptied while everything runs. */
  flushRedis(): Promise<void>;
}

export interface SuiteOptions {
  /** Residents of the synthetic county (officials come on top). */
  residents: number;
  /** Worker processes (1 or 2). */
  workers: number;
  /** Which scenarios, by name (default: all). */
  only?: string[];
  /** Length of each fault phase (brownout phases, Postgres and Redis outages), in ms. */
  faultMs: number;
  /** 叫应 step wait of every policy, in seconds (short: the chains end within the run). */
  stepWaitSeconds: number;
  /** Deadline for a scenario's backlog to drain after its fault (not a speed assertion). */
  drainTimeoutMs: number;
  /** Where logs and results go. */
  outDir: string;
  log: (msg: string) => void;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  people: number;
  /** Rows in contact_attempts (messages the gateway meant to send). */
  attempts: number;
  /** Messages the provider accepted (SMS + calls), from its own log. */
  providerSends: number;
  duplicates: number;
  duplicateExamples: ProviderLog['examples'];
  unaccounted: number;
  /** Of the unaccounted: targeted people without a delivery row at all. */
  missingPeople: number;
  /** People by final state (unreachable split by the reason recorded). */
  states: Record<string, number>;
  /** From the end of the fault to the backlog drained (ms); null when it never drained. */
  recoverMs: number | null;
  drained: boolean;
  fault: string;
  /** Counters of the fault proxies. */
  faultCounts: Record<string, number>;
  /** Answers (keypress 1, SMS reply 1) the scenario posted during its fault, signed as Twilio does. */
  answersDuringFault: number;
  /** Of those: not answered 2xx "received", or the person not confirmed (nor declined) in the end. */
  answersLost: number;
  /** Of those not lost: confirmed at the time of a later answer, recorded before the spooled one. */
  answersRetimed: number;
  /** A few of them, with the person's final state and answers (for the report). */
  answersLostExamples?: unknown[];
  totalMs: number;
  /** The scenario could not run to the end (its trigger never came, a process did not start). */
  error?: string;
}

export interface Progress {
  fanoutDone: boolean;
  people: number;
  attempts: number;
  openAttempts: number;
  doneAttempts: number;
  openPeople: number;
  openGroups: number;
  openChains: number;
  steppedChains: number;
}

/** What a scenario may do to the running system. */
export interface ScenarioContext {
  opts: SuiteOptions;
  infra: SuiteInfra;
  expectedPeople: number;
  workers: GatewayProcess[];
  api: GatewayProcess;
  pg: TcpFaultProxy;
  provider: ProviderFaultProxy;
  webhooks: WebhookProxy;
  progress(): Promise<Progress>;
  /** Posts answers as people would, through the webhook proxy, signed (see postAnswers). */
  postAnswers(count: number): Promise<PostedAnswer[]>;
  /** Answers posted during the fault, checked at the end. */
  answers: PostedAnswer[];
  /** Polls progress until `check` holds (deadline: the drain timeout). */
  waitFor(what: string, check: (p: Progress) => boolean): Promise<Progress>;
  log(msg: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  /** Runs before the warning is issued (e.g. a fault present from the start). */
  before?(ctx: ScenarioContext): Promise<void>;
  /** Injects the fault while the warning is under way; returns a description of it. */
  fault(ctx: ScenarioContext): Promise<string>;
}

/** An answer the harness posted as a person would (a keypress 1 on a call, an SMS reply 1). */
export interface PostedAnswer {
  deliveryId: string;
  channel: 'voice' | 'sms';
  /** HTTP status of the webhook and whether it answered "received" (the TwiML / SMS reply). */
  status: number;
  received: boolean;
}

/**
 * Picks up to `count` people with an open alert (sent, delivered or heard) and answers for them as
 * they would: half press 1 on the call they were sent (a gather posted to the gateway), half reply
 * 1 to their SMS, each signed as Twilio signs it, posted through the webhook proxy. SMS replies
 * come from residents whose number is theirs alone: an official's reply answers the last message
 * that asked for one, which may be a notice or a task sent after the outage (see the report), and
 * a shared number's reply may be matched to either person.
 */
async function postAnswers(
  db: Pool,
  warningId: string,
  twilioEnv: { authToken: string; accountSid: string; fromNumber: string },
  publicBaseUrl: string,
  count: number,
): Promise<PostedAnswer[]> {
  const calls = (
    await db.query<{ deliveryId: string; attemptId: string; callSid: string }>(
      `SELECT DISTINCT ON (d.id) d.id AS "deliveryId", a.id AS "attemptId", a.provider_id AS "callSid"
         FROM deliveries d JOIN contact_attempts a ON a.delivery_id = d.id
        WHERE d.warning_id = $1 AND d.state IN ('sent', 'delivered', 'heard')
          AND a.channel = 'voice' AND a.purpose = 'warning' AND a.provider_id IS NOT NULL
          -- A call already over: no key of the simulated person can come on it any more.
          AND a.status = 'completed' AND a.digits IS NULL
        ORDER BY d.id, a.seq LIMIT $2`,
      [warningId, Math.ceil(count / 2)],
    )
  ).rows;
  const texts = (
    await db.query<{ deliveryId: string; address: string }>(
      `SELECT DISTINCT ON (d.id) d.id AS "deliveryId", a.address
         FROM deliveries d JOIN contact_attempts a ON a.delivery_id = d.id
        WHERE d.warning_id = $1 AND d.state IN ('sent', 'delivered', 'heard') AND NOT (d.id = ANY($3::uuid[]))
          AND d.role = 'resident' AND a.channel = 'sms' AND a.purpose = 'warning' AND a.status IN ('sent', 'delivered')
          AND NOT EXISTS (SELECT 1 FROM contact_points c WHERE c.value = a.address AND c.person_id <> d.person_id)
        ORDER BY d.id, a.seq LIMIT $2`,
      [warningId, count - calls.length, calls.map((c) => c.deliveryId)],
    )
  ).rows;
  const post = async (path: string, params: Record<string, string>) => {
    const signature = twilio.getExpectedTwilioSignature(
      twilioEnv.authToken,
      `${publicBaseUrl}${path}`,
      params,
    );
    const res = await fetch(`${publicBaseUrl}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': signature,
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, text: await res.text() };
  };
  // Taken: kept in the spool (已收到您的确认…) or, when the database was still or again reachable as
  // it arrived, recorded at once (SMS 已确认收到“…”, voice 您已确认收到…). Both are the answer taken.
  const TAKEN = /已收到|已确认收到/;
  const out: PostedAnswer[] = [];
  for (const c of calls) {
    const r = await post(`/webhooks/twilio/voice/${c.attemptId}/gather?round=1`, {
      AccountSid: twilioEnv.accountSid,
      CallSid: c.callSid,
      Digits: '1',
    }).catch(() => ({ status: 0, text: '' }));
    out.push({
      deliveryId: c.deliveryId,
      channel: 'voice',
      status: r.status,
      received: r.status >= 200 && r.status < 300 && TAKEN.test(r.text),
    });
  }
  for (const m of texts) {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const r = await post('/webhooks/twilio/sms', {
      AccountSid: twilioEnv.accountSid,
      MessageSid: sid,
      SmsSid: sid,
      From: m.address,
      To: twilioEnv.fromNumber,
      Body: '1',
      NumMedia: '0',
      NumSegments: '1',
      SmsStatus: 'received',
    }).catch(() => ({ status: 0, text: '' }));
    out.push({
      deliveryId: m.deliveryId,
      channel: 'sms',
      status: r.status,
      received: r.status >= 200 && r.status < 300 && TAKEN.test(r.text),
    });
  }
  return out;
}

/** A county seeded once, copied per scenario (CREATE DATABASE … TEMPLATE). */
export interface CountyTemplate {
  database: string;
  dutyToken: string;
  expectedPeople: number;
  appSecret: string;
}

function dbUrl(adminUrl: string, database: string, port?: number): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  if (port) url.port = String(port);
  return url.toString();
}

async function admin<T>(adminUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Seeds the synthetic county through the operator CLI (`seed`, then `tokens:create` for a duty
 * officer of the county), and shortens every policy's waits so that chains end within a run.
 */
export async function prepareCounty(
  infra: SuiteInfra,
  opts: Pick<SuiteOptions, 'residents' | 'stepWaitSeconds' | 'log'>,
): Promise<CountyTemplate> {
  const database = `faults_tmpl_${opts.residents}_${randomBytes(3).toString('hex')}`;
  await admin(infra.pgAdminUrl, (c) => c.query(`CREATE DATABASE ${database}`));
  const appSecret = `fault-suite-${randomBytes(16).toString('hex')}`;
  const env = {
    DATABASE_URL: dbUrl(infra.pgAdminUrl, database),
    REDIS_URL: infra.redisUrl,
    QUEUE_PREFIX: `{fseed${randomBytes(3).toString('hex')}}`,
    APP_SECRET: appSecret,
    LOG_LEVEL: 'warn',
    DEMO: 'off',
    SANDBOX: 'off',
  };
  const started = Date.now();
  runCli(['seed', '--county', COUNTY, '--residents', String(opts.residents)], env);
  const out = runCli(
    ['tokens:create', '--role', 'duty_officer', '--jurisdiction', COUNTY, '--name', 'fault suite'],
    env,
  );
  const dutyToken = out.trim().split('\n').pop()?.trim() ?? '';
  if (!/^wgt_/.test(dutyToken)) throw new Error(`tokens:create printed no token:\n${out}`);
  const c = new Client({ connectionString: env.DATABASE_URL });
  await c.connect();
  let expectedPeople: number;
  try {
    const w = opts.stepWaitSeconds;
    // Every chain shortened: one step, its call retried once, the same follow-ups as seeded.
    await c.query(
      `UPDATE escalation_policies SET
         steps = (SELECT jsonb_agg(
                    jsonb_set(s, '{waitSeconds}', to_jsonb($1::int))
                    || CASE WHEN s ? 'voiceRetries'
                         THEN jsonb_build_object('voiceRetries', jsonb_build_object('times', 1, 'withinSeconds', greatest(2, $1::int / 2)))
                         ELSE '{}'::jsonb END)
                  FROM jsonb_array_elements(steps) s),
         group_rule_seconds = CASE WHEN group_rule_seconds IS NULL THEN NULL ELSE $1::int * 2 END`,
      [w],
    );
    const [{ n }] = (
      await c.query(`SELECT count(*)::int AS n FROM people WHERE division_code LIKE $1`, [
        `${COUNTY}%`,
      ])
    ).rows;
    expectedPeople = n;
  } finally {
    await c.end();
  }
  opts.log(
    `county ${COUNTY}: ${expectedPeople} people seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { database, dutyToken, expectedPeople, appSecret };
}

export async function dropCounty(infra: SuiteInfra, t: CountyTemplate): Promise<void> {
  await admin(infra.pgAdminUrl, (c) =>
    c.query(`DROP DATABASE IF EXISTS ${t.database} WITH (FORCE)`),
  ).catch(() => undefined);
}

/**
 * A person reached by e-mail alone: the mail server took the message, and e-mail has no delivery
 * receipt, so `sent` is as far as their state can go (their SMS and calls failed or went unanswered).
 */
const EMAIL_ONLY = `d.state = 'sent' AND EXISTS (SELECT 1 FROM contact_attempts a
  WHERE a.delivery_id = d.id AND a.channel = 'email' AND a.status = 'sent')`;

const PROGRESS_SQL = `
  SELECT
    coalesce((SELECT fanout_done_at IS NOT NULL FROM warnings WHERE id = $1), false) AS "fanoutDone",
    (SELECT count(*) FROM deliveries WHERE warning_id = $1)::int AS people,
    (SELECT count(*) FROM contact_attempts WHERE warning_id = $1)::int AS attempts,
    (SELECT count(*) FROM contact_attempts WHERE warning_id = $1 AND status IN ('queued', 'sending'))::int AS "openAttempts",
    (SELECT count(*) FROM contact_attempts WHERE warning_id = $1 AND status NOT IN ('queued', 'sending'))::int AS "doneAttempts",
    (SELECT count(*) FROM deliveries d WHERE d.warning_id = $1 AND d.state IN ('pending', 'sent')
        AND NOT (${EMAIL_ONLY}))::int AS "openPeople",
    (SELECT count(*) FROM group_sends WHERE warning_id = $1 AND status IN ('queued', 'sending'))::int AS "openGroups",
    (SELECT count(*) FROM deliveries d JOIN escalation_policies p ON p.id = d.policy_id
      WHERE d.warning_id = $1 AND d.state NOT IN ('confirmed', 'declined', 'cancelled')
        AND (d.step <= jsonb_array_length(p.steps) OR d.step_done < d.step))::int AS "openChains",
    (SELECT count(*) FROM deliveries WHERE warning_id = $1 AND step >= 2)::int AS "steppedChains"`;

/** States that account for a person at the end (unreachable only with a recorded reason). */
const FINAL_STATES_SQL = `
  SELECT CASE WHEN d.state = 'unreachable'
              THEN 'unreachable:' || coalesce(r.reason, 'NO REASON')
              WHEN ${EMAIL_ONLY} THEN 'sent:email' ELSE d.state END AS state,
         count(*)::int AS n
    FROM deliveries d
    LEFT JOIN LATERAL (
      SELECT e.data ->> 'reason' AS reason FROM audit_events e
       WHERE e.warning_id = $1 AND e.action = 'delivery.unreachable' AND e.subject_id = d.id::text
       ORDER BY e.id DESC LIMIT 1) r ON d.state = 'unreachable'
   WHERE d.warning_id = $1
   GROUP BY 1`;
const ACCOUNTED = /^(delivered|heard|confirmed|declined|sent:email|unreachable:(?!NO REASON).+)$/;

/**
 * Runs one scenario on its own database (a copy of the seeded county), queue prefix, sandbox and
 * proxies, with the API and the workers as child processes (`node dist/main.js`).
 */
export async function runScenario(
  scenario: Scenario,
  infra: SuiteInfra,
  county: CountyTemplate,
  opts: SuiteOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const log = (msg: string) => opts.log(`[${scenario.name}] ${msg}`);
  const database = `faults_${scenario.name.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`;
  await admin(infra.pgAdminUrl, (c) =>
    c.query(`CREATE DATABASE ${database} TEMPLATE ${county.database}`),
  );
  const directUrl = dbUrl(infra.pgAdminUrl, database);
  const pgTarget = new URL(infra.pgAdminUrl);
  const pg = await TcpFaultProxy.start(pgTarget.hostname, Number(pgTarget.port || 5432));
  const db = new Pool({ connectionString: directUrl, max: 3 });
  // An idle client of this pool whose backend is ended under it (the outage, the database dropped
  // at the end) is an 'error' event of the pool: without a listener, an unhandled error that
  // failed the whole suite once (every scenario had passed). The pool drops that client.
  db.on('error', () => undefined);
  const webhooks = await WebhookProxy.start();
  const logDir = path.join(opts.outDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });

  let sandbox: RunningSandbox | undefined;
  let provider: ProviderFaultProxy | undefined;
  const processes: GatewayProcess[] = [];
  let spoolRedis: IORedis | undefined;
  try {
    sandbox = await startSandbox({
      databaseUrl: directUrl,
      appSecret: county.appSecret,
      publicBaseUrl: webhooks.baseUrl,
      timeScale: 0.01,
      seed: 7,
    });
    await sandbox.refreshRobots();
    provider = await ProviderFaultProxy.start(sandbox.carrier.baseUrl);
    const providerLog = new ProviderLog();
    sandbox.carrier.onEvent(providerLog.onEvent);

    const apiPort = await freePort();
    webhooks.setTarget(`http://127.0.0.1:${apiPort}`);
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      DATABASE_URL: dbUrl(infra.pgAdminUrl, database, pg.port),
      REDIS_URL: infra.redisUrl,
      QUEUE_PREFIX: `{f${randomBytes(4).toString('hex')}}`,
      APP_SECRET: county.appSecret,
      PUBLIC_BASE_URL: webhooks.baseUrl,
      LOG_LEVEL: 'warn',
      DEMO: 'off',
      SANDBOX: 'off',
      TWO_PERSON_RELEASE: 'off',
      // Step waits are compressed to seconds here: the carriers' per-number limits would refuse
      // the retries they bring (a behaviour of its own, tested in test/warnings/number-limits).
      CARRIER_LIMITS_VOICE: 'off',
      CARRIER_LIMITS_SMS: 'off',
      CARRIER_LIMITS_VOICE_NIGHT: 'off',
      CARRIER_LIMITS_SMS_NIGHT: 'off',
      ...sandbox.env,
      TWILIO_API_BASE_URL: provider.baseUrl,
      TWILIO_SMS_PER_SECOND: '500',
      TWILIO_CALLS_PER_SECOND: '100',
      EMAIL_PER_SECOND: '200',
      BROADCAST_PER_SECOND: '50',
      SEND_RETRY_ATTEMPTS: '8',
      SEND_RETRY_BACKOFF_MS: '500',
      RECOVERY_INTERVAL_MS: '2000',
      // The recovery clocks compressed like the policies' waits (FAULTS_REAL_CLOCKS=1: the
      // defaults, 60 s and 30 s): what the scenarios assert is the same, they just wait less.
      ...(process.env.FAULTS_REAL_CLOCKS === '1'
        ? {}
        : {
            RECOVERY_REQUEUE_AFTER_SECONDS: '10',
            QUEUE_LOCK_DURATION_MS: '10000',
            // A killed run's claim lapses after the lease; by then a request it left at the
            // provider must have been answered or given up (TWILIO_TIMEOUT_MS, 15 s) and had its
            // time to be taken (SEND_UNANSWERED_SETTLE_MS, 30 s): 50 s covers both and the
            // rate's wait. (Shorter time-outs, 5 s and 10 s with a lease of 20 s, made requests
            // to the provider in this test process time out under load, and some arrived later
            // still: sent twice.)
            SEND_CLAIM_LEASE_SECONDS: '50',
          }),
      // Answers kept while Postgres was cut are applied within a second of its return.
      INBOUND_SPOOL_RETRY_MS: '250',
      INBOUND_SPOOL_RETRY_MAX_MS: '1000',
      RECEIPT_POLL_AFTER_SECONDS: '30',
      BREAKER_RESET_MS: '2000',
      BREAKER_MIN_REQUESTS: '10',
      RATE_LIMIT_PUBLIC: '0',
      RATE_LIMIT_FAILURES: '0',
      HAZARD_REPORT_SWEEP_MS: '60000',
    };
    const api = new GatewayProcess(
      'api',
      { ...env, ROLE: 'api', PORT: String(apiPort), WORKER_HTTP_PORT: String(await freePort()) },
      apiPort,
      path.join(logDir, `${scenario.name}-api.log`),
    );
    processes.push(api);
    const workers: GatewayProcess[] = [];
    for (let i = 0; i < opts.workers; i++) {
      const port = await freePort();
      workers.push(
        new GatewayProcess(
          `worker-${i + 1}`,
          {
            ...env,
            ROLE: 'worker',
            PORT: String(await freePort()),
            WORKER_HTTP_PORT: String(port),
          },
          port,
          path.join(logDir, `${scenario.name}-worker-${i + 1}.log`),
        ),
      );
    }
    processes.push(...workers);
    await Promise.all(processes.map((p) => p.start()));

    const progress = async (): Promise<Progress> =>
      (await db.query<Progress>(PROGRESS_SQL, [warningId])).rows[0];
    // Answers kept in the inbound spool (taken while Postgres was away) and not applied yet: the
    // backlog is not drained while any is left (their outcome is read once it is).
    spoolRedis = new IORedis(infra.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    spoolRedis.on('error', () => undefined);
    const spool = new Queue('inbound-spool', { connection: spoolRedis, prefix: env.QUEUE_PREFIX });
    const spoolPending = async (): Promise<number> => {
      const counts = await spool.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    };
    const waitFor = async (what: string, check: (p: Progress) => boolean) => {
      const deadline = Date.now() + opts.drainTimeoutMs;
      let last: Progress | undefined;
      while (Date.now() < deadline) {
        last = await progress().catch(() => undefined);
        if (last && check(last)) return last;
        await sleep(250);
      }
      throw new Error(`[${scenario.name}] timed out waiting for ${what}: ${JSON.stringify(last)}`);
    };
    let warningId = '';
    const twilioEnv = {
      authToken: sandbox.env.TWILIO_AUTH_TOKEN,
      accountSid: sandbox.env.TWILIO_ACCOUNT_SID,
      fromNumber: sandbox.env.TWILIO_FROM_NUMBER,
    };
    const ctx: ScenarioContext = {
      opts,
      infra,
      expectedPeople: county.expectedPeople,
      workers,
      api,
      pg,
      provider,
      webhooks,
      progress,
      postAnswers: (count) => postAnswers(db, warningId, twilioEnv, webhooks.baseUrl, count),
      answers: [],
      waitFor,
      log,
    };

    await scenario.before?.(ctx);
    warningId = await issueWarning(apiPort, county.dutyToken, scenario.name);
    log(`warning ${warningId} issued to county ${COUNTY} (${county.expectedPeople} people)`);
    const fault = await scenario.fault(ctx);
    const faultEnd = Date.now();
    log(`fault over: ${fault}`);

    let drained = false;
    let recoverMs: number | null = null;
    const deadline = Date.now() + opts.drainTimeoutMs;
    let last: Progress | undefined;
    while (Date.now() < deadline) {
      last = await progress().catch(() => undefined);
      if (
        last &&
        last.fanoutDone &&
        last.openAttempts === 0 &&
        last.openPeople === 0 &&
        last.openGroups === 0 &&
        last.openChains === 0 &&
        webhooks.pending === 0 &&
        (await spoolPending().catch(() => -1)) === 0
      ) {
        drained = true;
        recoverMs = Date.now() - faultEnd;
        break;
      }
      await sleep(250);
    }
    if (!drained) {
      log(`did not drain within ${opts.drainTimeoutMs} ms: ${JSON.stringify(last)}`);
      const open = await db.query(
        `SELECT d.id, d.state, d.role, d.step, d.step_done,
                (SELECT json_agg(json_build_object('ch', a.channel, 'st', a.status, 'out', a.outcome, 'tries', a.tries, 'pid', a.provider_id, 'err', a.error_code) ORDER BY a.seq)
                   FROM contact_attempts a WHERE a.delivery_id = d.id) AS attempts
           FROM deliveries d WHERE d.warning_id = $1 AND d.state IN ('pending', 'sent') LIMIT 5`,
        [warningId],
      );
      for (const r of open.rows) log(`open: ${JSON.stringify(r)}`);
    }
    // Late provider events (replies, receipts) settle before counting.
    await sleep(1_000);

    const states: Record<string, number> = {};
    for (const r of (await db.query<{ state: string; n: number }>(FINAL_STATES_SQL, [warningId]))
      .rows)
      states[r.state] = r.n;
    const people = Object.values(states).reduce((s, n) => s + n, 0);
    const [{ missing }] = (
      await db.query<{ missing: number }>(
        `SELECT count(*)::int AS missing FROM people p
          WHERE p.division_code LIKE $2
            AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.warning_id = $1 AND d.person_id = p.id)`,
        [warningId, `${COUNTY}%`],
      )
    ).rows;
    const notAccounted = Object.entries(states)
      .filter(([s]) => !ACCOUNTED.test(s))
      .reduce((sum, [, n]) => sum + n, 0);
    const [{ attempts }] = (
      await db.query<{ attempts: number }>(
        `SELECT count(*)::int AS attempts FROM contact_attempts WHERE warning_id = $1`,
        [warningId],
      )
    ).rows;
    // Answers posted during the fault: answered "received", and the person confirmed in the end.
    const finals = (
      await db.query<{
        id: string;
        ok: boolean;
        retimed: boolean;
        state: string;
        at: string;
        answers: unknown;
      }>(
        `SELECT d.id, d.state IN ('confirmed', 'declined') AS ok, d.confirmed_at > $2 AS retimed, d.state,
                d.confirmed_at AS at,
                (SELECT json_agg(json_build_object('ch', a.channel, 'kind', a.kind, 'about', a.about,
                        'at', a.received_at, 'eff', a.effective)) FROM answers a WHERE a.delivery_id = d.id) AS answers
           FROM deliveries d WHERE d.id = ANY($1::uuid[])`,
        [ctx.answers.map((a) => a.deliveryId), new Date(faultEnd)],
      )
    ).rows;
    const answered = new Map(finals.map((r) => [r.id, r.ok]));
    const lostDetails = finals.filter((r) => !r.ok);
    // Confirmed, but at a later answer's time: the simulated person answered again after the
    // outage and that direct answer was recorded before the spooled one (see the README).
    const answersRetimed = finals.filter((r) => r.ok && r.retimed).length;
    const answersLost = ctx.answers.filter(
      (a) => !a.received || answered.get(a.deliveryId) !== true,
    ).length;
    if (ctx.answers.length)
      log(
        `answers posted during the fault: ${ctx.answers.length}, lost ${answersLost}, re-timed ${answersRetimed}` +
          (answersLost
            ? `: ${JSON.stringify(ctx.answers.filter((a) => !a.received || !answered.get(a.deliveryId)).slice(0, 5))}`
            : ''),
      );
    const dups = providerLog.duplicates();
    const result: ScenarioResult = {
      scenario: scenario.name,
      title: scenario.title,
      people,
      attempts,
      providerSends: providerLog.sms + providerLog.calls,
      duplicates: dups.total,
      duplicateExamples: providerLog.examples,
      unaccounted: notAccounted + missing,
      missingPeople: missing,
      states,
      recoverMs,
      drained,
      fault,
      faultCounts: {
        providerFailed: provider.counts.failed,
        providerHung: provider.counts.hung,
        providerHungAfterForward: provider.counts.hungAfterForward,
        webhooksReplayed: webhooks.counts.replayed,
        webhooksLate: webhooks.counts.late,
      },
      answersDuringFault: ctx.answers.length,
      answersLost,
      answersRetimed,
      answersLostExamples: [
        ...ctx.answers.filter((a) => !a.received),
        ...lostDetails.map((d) => ({
          ...d,
          posted: ctx.answers.find((a) => a.deliveryId === d.id),
        })),
      ].slice(0, 5),
      totalMs: Date.now() - started,
    };
    log(
      `people ${result.people}, attempts ${result.attempts}, provider sends ${result.providerSends}, ` +
        `duplicates ${result.duplicates}, unaccounted ${result.unaccounted}, ` +
        `recovered in ${recoverMs === null ? '—' : `${(recoverMs / 1000).toFixed(1)} s`}`,
    );
    return result;
  } finally {
    await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
    spoolRedis?.disconnect();
    await provider?.close().catch(() => undefined);
    await sandbox?.stop().catch(() => undefined);
    await webhooks.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    await pg.close().catch(() => undefined);
    // FAULTS_KEEP_DATABASE=1 keeps each scenario's database for a look afterwards (a duplicate or
    // an unaccounted person is explained from its attempts and audit events).
    if (process.env.FAULTS_KEEP_DATABASE === '1') log(`database ${database} kept`);
    else
      await admin(infra.pgAdminUrl, (c) =>
        c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
      ).catch(() => undefined);
  }
}

/** A red meteorological risk warning to the whole county, issued over HTTP by the duty officer. */
async function issueWarning(apiPort: number, token: string, key: string): Promise<string> {
  const now = Date.now();
  const res = await fetch(`http://127.0.0.1:${apiPort}/v1/warnings`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': `fault-suite-${key}-${now}`,
    },
    body: JSON.stringify({
      kind: 'meteorological_risk',
      level: 'red',
      hazard: 'landslide',
      headline: '汶川县地质灾害气象风险红色预警',
      description: '强降雨持续，地质灾害气象风险很高',
      instruction: '责任人立即上岗到位，受威胁群众立即转移',
      areas: [COUNTY],
      effective: new Date(now).toISOString(),
      expires: new Date(now + 24 * 3600_000).toISOString(),
    }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await res.json()) as { id?: string };
  if (res.status !== 201 || !body.id)
    throw new Error(`issuing the warning: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** Seeds the county once, then runs each selected scenario on its own copy of it. */
export async function runSuite(
  infra: SuiteInfra,
  scenarios: Scenario[],
  opts: SuiteOptions,
): Promise<ScenarioResult[]> {
  const selected = opts.only?.length
    ? scenarios.filter((s) => opts.only?.includes(s.name))
    : scenarios;
  const county = await prepareCounty(infra, opts);
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of selected) {
      const started = Date.now();
      try {
        results.push(await runScenario(scenario, infra, county, opts));
      } catch (err) {
        opts.log(`[${scenario.name}] failed: ${(err as Error).stack ?? String(err)}`);
        results.push({
          scenario: scenario.name,
          title: scenario.title,
          people: 0,
          attempts: 0,
          providerSends: 0,
          duplicates: 0,
          duplicateExamples: [],
          unaccounted: 0,
          missingPeople: 0,
          states: {},
          recoverMs: null,
          drained: false,
          fault: '',
          faultCounts: {},
          answersDuringFault: 0,
          answersLost: 0,
          answersRetimed: 0,
          totalMs: Date.now() - started,
          error: (err as Error).message,
        });
      }
    }
  } finally {
    await dropCounty(infra, county);
  }
  return results;
}

/** A scenario failed: duplicates, unaccounted people, a backlog that never drained, or an error. */
export const failed = (r: ScenarioResult): boolean =>
  r.duplicates > 0 || r.unaccounted > 0 || r.answersLost > 0 || !r.drained || r.error !== undefined;
