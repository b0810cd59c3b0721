import { plainToInstance, Transform } from 'class-transformer';
import {
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

export const PROCESS_ROLES = ['all', 'api', 'worker'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

/** Carrier limits per number: `off`, or `count/window` rules (s, m, h, d) separated by commas. */
const NUMBER_RULES = /^(off|\s*\d+\s*\/\s*\d*\s*[smhd]\s*(,\s*\d+\s*\/\s*\d*\s*[smhd]\s*)*)$/;

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : Number(value);
const BYTE_SIZE = /^\d{1,10}(b|kb|mb|gb)?$/i;
const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/**
 * Every environment variable the gateway reads. Documented in `.env.example`; validated once at
 * boot so that a typo fails fast with a message naming the variable.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  /**
   * How long the HTTP server keeps an idle keep-alive connection open (ms). Longer than the
   * clients' and proxies' own idle timeouts (60 s for most load balancers), so that it is always
   * the client that closes an idle connection: a server closing it while the client sends on it
   * loses that request (a provider's webhook, a keypress) with a connection reset.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 65_000;

  /**
   * The HTTP server's listen backlog: connections the kernel keeps, handshake done, until the
   * process accepts them. In a storm of webhooks (a provider opens a connection for every
   * request beyond those it keeps alive) a full queue drops the handshake's last packet, and the
   * connection is only taken when the kernel resends its SYN-ACK, 1, 3, 7, 15 s later: keypresses
   * answered after seconds or not before Twilio gives up (15 s). Linux caps it at
   * `net.core.somaxconn` (4096 by default since kernel 5.4; 128 before: raise it there).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65_535)
  HTTP_LISTEN_BACKLOG = 4096;

  /**
   * New connections the API process accepts per turn of its event loop (libuv takes one per
   * listening handle per turn since Node 20; the process gets this many handles of its listening
   * socket). A busy process turns a few dozen times a second: with one, a storm of webhooks on new
   * connections waited seconds in the listen queue, unseen, neither answered nor shed.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  HTTP_ACCEPTS_PER_TURN = 32;

  /** A worker process's own port for GET /health and GET /metrics (ROLE=worker only). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  WORKER_HTTP_PORT = 3001;

  @IsOptional()
  @IsIn(PROCESS_ROLES)
  ROLE: ProcessRole = 'all';

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  PUBLIC_BASE_URL?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'DATABASE_URL must start with postgres:// or postgresql://',
  })
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must start with redis:// or rediss://' })
  REDIS_URL?: string;

  /** Queue backend when REDIS_URL is unset: BullMQ's Postgres backend on the same database. */
  @IsOptional()
  @IsIn(['redis', 'postgres'])
  QUEUE_BACKEND?: 'redis' | 'postgres';

  /** Hash-tagged so that every key of a queue lands in one Redis Cluster slot. */
  @IsOptional()
  @Matches(/^\{[A-Za-z0-9_-]+\}$/, { message: 'QUEUE_PREFIX must be a hash tag such as {wg}' })
  QUEUE_PREFIX = '{wg}';

  @IsOptional()
  @IsString()
  DATA_DIR = '.data';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  /** Encrypts stored secrets (robot signing keys) and signs confirmation links. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(32, { message: 'APP_SECRET must be at least 32 characters' })
  APP_SECRET?: string;

  /** 3-digit agency code of the issuing unit in national warning identifiers. */
  @IsOptional()
  @Matches(/^\d{3}$/, { message: 'NATIONAL_ID_AGENCY_CODE must be 3 digits' })
  NATIONAL_ID_AGENCY_CODE = '001';

  /**
   * auto: start the sandbox carrier (a local stand-in for Twilio, robots, broadcast and SMTP) when
   * no real provider is configured (no TWILIO_ACCOUNT_SID / TWILIO_API_BASE_URL); on; off.
   */
  @IsOptional()
  @IsIn(['auto', 'on', 'off'])
  SANDBOX: 'auto' | 'on' | 'off' = 'auto';

  @IsOptional()
  @IsIn(['auto', 'on', 'off'])
  DEMO: 'auto' | 'on' | 'off' = 'auto';

  @IsOptional()
  @Matches(/^\d{6}$/, { message: 'DEMO_COUNTY must be a 6-digit GB/T 2260 county code' })
  DEMO_COUNTY = '513221';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  DEMO_RESIDENTS = 2000;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsEmail()
  ADMIN_EMAIL?: string;

  /**
   * 叫应 step timers and group rules handled at once per worker process. Timers that fall due
   * together wait their turn: `npm run bench -- timers` measures the lateness.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  ESCALATION_CONCURRENCY = 10;

  /**
   * Chains one statement of a step timer moves to their next step (their follow-ups go in batches
   * of the same size).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(20_000)
  STEP_TIMER_BATCH = 2000;

  /**
   * Batches of one step timer moved at the same time, each in a transaction of its own (rows
   * another holds are skipped): the last of 20,000 chains due at one instant moves sooner.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(16)
  STEP_TIMER_MOVERS = 2;

  /**
   * How often each worker process runs the recovery sweep (lost enqueues, stuck sends, overdue
   * timers and expiries); one process at a time sweeps. A timer of the process, not a schedule in
   * the queue backend, so that a Redis that lost its data cannot lose the sweep.
   */
  @Transform(toInt)
  @IsInt()
  @Min(500)
  @Max(600_000)
  RECOVERY_INTERVAL_MS = 30_000;

  /**
   * A send or step timer still waiting this long after it was due, with its job gone (lost with
   * the queue backend's data), is brought back by the recovery sweep (a fan-out after half of it).
   */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(3600)
  RECOVERY_REQUEUE_AFTER_SECONDS = 60;

  /**
   * BullMQ's job lock, and its stalled-job check: a job whose worker died (kill -9) is run again
   * by another worker after at most about twice this.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  QUEUE_LOCK_DURATION_MS = 30_000;

  /**
   * How long a run of a send job holds its claim (seconds) when it neither finished nor let go:
   * BullMQ may run a job again while its first run still waits on the provider (its lock ran out),
   * and that second run leaves the claim alone until this has passed. It must outlast a run's
   * longest wait: the provider lookup and the send (each up to TWILIO_TIMEOUT_MS) and the rate
   * limiter. A worker killed mid-send delays that send's retry by at most this. A killed run may
   * have left a request unanswered at the provider: this must also outlast TWILIO_TIMEOUT_MS and
   * SEND_UNANSWERED_SETTLE_MS together (15 s + 30 s by default).
   */
  @Transform(toInt)
  @IsInt()
  @Min(5)
  @Max(3600)
  SEND_CLAIM_LEASE_SECONDS = 90;

  /**
   * How long after Twilio left a send's request unanswered (a time-out, a connection cut after
   * the request was written) Twilio may still accept it (ms): a request held up on its way is
   * taken when it arrives. The next try of that send waits this long before it asks Twilio
   * whether it has the message, and sends only when it has not: asked sooner, a message accepted
   * late is sent twice.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SEND_UNANSWERED_SETTLE_MS = 30_000;

  /**
   * On stop (SIGTERM, a deploy), how long a queue worker may finish its jobs in hand before it is
   * disconnected from the queue backend (which it must be when Redis is unreachable, or it never
   * stops). A job cut short is run again by another worker after QUEUE_LOCK_DURATION_MS.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  WORKER_STOP_TIMEOUT_MS = 10_000;

  /**
   * On SIGTERM or SIGINT, the process exits (code 1, saying so) if stopping takes longer than this,
   * whatever is stuck.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  SHUTDOWN_TIMEOUT_MS = 30_000;

  /**
   * /health reports work as overdue (status "degraded") when a send has waited in the queue this
   * long, or a 叫应 step timer is this late.
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(86_400)
  HEALTH_OVERDUE_SECONDS = 300;

  /**
   * A send the provider accepted whose status never came back (its callbacks lost) is asked about
   * at the provider after this many seconds, by the recovery sweep.
   */
  @Transform(toInt)
  @IsInt()
  @Min(30)
  @Max(86_400)
  RECEIPT_POLL_AFTER_SECONDS = 600;

  /** How many of those sends are asked about at the provider at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  RECEIPT_POLL_CONCURRENCY = 8;

  /**
   * How long one sweep may go on asking (ms); a larger backlog of lost callbacks is drained by the
   * next sweeps.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  RECEIPT_POLL_BUDGET_MS = 20_000;

  /**
   * Which warnings a second duty officer must approve before they go: off, red_public (a red
   * actual warning whose audience names residents; the default) or all.
   */
  @IsOptional()
  @IsIn(['off', 'red_public', 'all'])
  TWO_PERSON_RELEASE: 'off' | 'red_public' | 'all' = 'red_public';

  /**
   * CAP senders whose alerts were released by that authority already (comma-separated, e.g. the
   * provincial meteorological observatory): imported at once. An alert from any other sender that
   * falls under TWO_PERSON_RELEASE is drafted for approval. Default: none.
   */
  @IsOptional()
  @Matches(/^\s*([^\s,<&]+\s*(,\s*[^\s,<&]+\s*)*)?$/, {
    message:
      'CAP_TRUSTED_SENDERS must be CAP sender values separated by commas (no spaces, "<" or "&" in one)',
  })
  CAP_TRUSTED_SENDERS = '';

  /** The day (MM-DD) each year by which a county files its roster of people (default 20 April). */
  @IsOptional()
  @Matches(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, {
    message: 'ROSTER_FILE_BY must be a day of the year as MM-DD, e.g. 04-20',
  })
  ROSTER_FILE_BY = '04-20';

  /**
   * Counties with a filing day of their own: `<county code>=MM-DD`, comma-separated (e.g.
   * `513221=05-10,510100=04-30`); the others file by ROSTER_FILE_BY.
   */
  @IsOptional()
  @Matches(
    /^\s*(\d{6}\s*=\s*(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\s*(,\s*\d{6}\s*=\s*(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\s*)*)?$/,
    {
      message:
        'ROSTER_FILE_BY_COUNTY must be <6-digit county code>=MM-DD entries separated by commas, e.g. 513221=05-10',
    },
  )
  ROSTER_FILE_BY_COUNTY = '';

  /**
   * A 特大型 or 大型 hazard report the city has not acknowledged is escalated and flagged this many
   * seconds after it was made (default 45 of its 60 minutes).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  HAZARD_REPORT_ESCALATE_AFTER_SECONDS = 2700;

  /**
   * The 叫应 chain of a 特大型 or 大型 report: each duty office not yet acknowledged is texted and
   * called again (every contact point, with failover) every this many seconds…
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  HAZARD_REPORT_STEP_SECONDS = 600;

  /** …for at most this many steps (the first included; default 6 × 10 minutes: the hour). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60)
  HAZARD_REPORT_STEPS = 6;

  /**
   * How often the hazard-reports worker rebuilds from Postgres what the queue backend lost (the
   * deadline timers, notices whose jobs are gone, reports never notified).
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  HAZARD_REPORT_SWEEP_MS = 5000;

  /** How often a worker process seals audit events into blocks (0: never in this process). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  AUDIT_SEAL_INTERVAL_MS = 2000;

  /** A file the latest signed audit checkpoint is also written to (publish it off the database). */
  @IsOptional()
  @IsString()
  AUDIT_CHECKPOINT_FILE?: string;

  /** Tries of one send job (SMS, call, email, robot, loudspeaker) on transient errors. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(20)
  SEND_RETRY_ATTEMPTS = 6;

  /** First backoff between those tries, doubled each time (2 s, 4 s, 8 s, …). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  SEND_RETRY_BACKOFF_MS = 2000;

  /** People a fan-out reads and writes per batch (deliveries, attempts and their jobs). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  FANOUT_BATCH_SIZE = 1000;

  /**
   * Batches of people a fan-out writes at once (each its own transactions): the next batch is
   * written while the one before is still being written.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(8)
  FANOUT_BATCHES_IN_FLIGHT = 2;

  /**
   * Backpressure: a fan-out writes no further batch while the SMS and call queues hold this many
   * sends at its warning's priority or a more urgent one (0: no bound; a batch job of first SMS
   * counts as its people). Keeps the queue backend's memory bounded for very large warnings
   * (≈ 1.3 KB of Redis a waiting job of its own, less a person in a batch job).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  FANOUT_MAX_BACKLOG = 100_000;

  /** Longest one batch waits for room (ms); then it is written anyway (sends stalled). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  FANOUT_BACKLOG_WAIT_MS = 60_000;

  /**
   * Longest one batch of a fan-out (its rows, a batch job of its first SMS contacts) waits while
   * answers are pressing in an API process (ANSWER_PRESSURE_IN_HAND), in ms. 0: never waits.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  FANOUT_YIELD_MAX_MS = 1000;

  /**
   * Send jobs run at once per worker process, per queue. They share their SQL (reads, claims,
   * recording) in batches, so more at once costs the database little; the providers' own rate
   * limits still hold (TWILIO_SMS_PER_SECOND, …).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  SEND_SMS_CONCURRENCY = 50;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  SEND_VOICE_CONCURRENCY = 20;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(500)
  SEND_EMAIL_CONCURRENCY = 10;

  /**
   * People a job among a warning's first SMS contacts (`send-sms-batch`), at most one second of
   * TWILIO_SMS_PER_SECOND; 1: a job each.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  SEND_SMS_BATCH = 100;

  /** Batch jobs of first SMS contacts run at once per worker process. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(50)
  SEND_SMS_BATCH_CONCURRENCY = 8;

  /** How long (ms) a send waits for others to share one statement with (0: the same tick). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100)
  SEND_BATCH_WINDOW_MS = 2;

  /** Most sends sharing one statement. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  SEND_BATCH_MAX = 200;

  /**
   * Connections of the answers pool (keypresses, SMS replies, provider receipts), apart from the
   * main pool so that answers never queue behind a fan-out.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  ANSWERS_DB_POOL = 10;

  /**
   * Answer transactions at once (of the answers pool's connections). Answers that arrive while
   * all are busy wait and then go together in one transaction with one commit (at most
   * ANSWER_BATCH_MAX of them), recorded set-based (a statement for all of them) or, when that
   * fails, each in a savepoint; one that finds a lane free goes alone, at once. Answers of one call
   * or person never run in two lanes at once.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  ANSWER_BATCH_LANES = 8;

  /**
   * Answers sharing one transaction, at most. Kept under 64: Postgres keeps that many
   * subtransactions (savepoints) of a transaction in shared memory, beyond which every session's
   * snapshots get slower.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60)
  ANSWER_BATCH_MAX = 32;

  /**
   * Spooled inbound events (answers and receipts kept while Postgres was unreachable, or past
   * the answers' bound) applied at once by each worker process. Answers among them share
   * transactions as the API's do (ANSWER_BATCH_LANES).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  INBOUND_SPOOL_CONCURRENCY = 32;

  /**
   * The inbound spool: a keypress, SMS reply or link answer that could not be recorded because
   * Postgres is unreachable is kept in the queue backend and applied once Postgres is back. Its
   * webhook waits at most INBOUND_SPOOL_TIMEOUT_MS for the queue backend to take it (then 503);
   * applying it is retried after INBOUND_SPOOL_RETRY_MS, doubling up to
   * INBOUND_SPOOL_RETRY_MAX_MS, for as long as the database stays away.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10_000)
  INBOUND_SPOOL_TIMEOUT_MS = 2000;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  INBOUND_SPOOL_RETRY_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(600_000)
  INBOUND_SPOOL_RETRY_MAX_MS = 30_000;

  /**
   * Carrier limits per called number (see NumberLimits): `count/window` rules such as
   * `1/1m,5/1h,20/1d`, or `off`. A full window of up to 5 minutes is waited for; a longer one
   * moves the person's chain to their next contact point. The _NIGHT rules apply between
   * CARRIER_NIGHT_HOURS (China Standard Time).
   */
  @Matches(NUMBER_RULES, {
    message: 'CARRIER_LIMITS_VOICE must be off or rules such as 1/1m,5/1h,20/1d',
  })
  CARRIER_LIMITS_VOICE = '1/1m,5/1h,20/1d';

  @Matches(NUMBER_RULES, {
    message: 'CARRIER_LIMITS_SMS must be off or rules such as 2/1m,10/1h,40/1d',
  })
  CARRIER_LIMITS_SMS = '2/1m,10/1h,40/1d';

  @Matches(NUMBER_RULES, {
    message: 'CARRIER_LIMITS_VOICE_NIGHT must be off or rules such as 1/1m,3/1h',
  })
  CARRIER_LIMITS_VOICE_NIGHT = '1/1m,3/1h,20/1d';

  @Matches(NUMBER_RULES, {
    message: 'CARRIER_LIMITS_SMS_NIGHT must be off or rules such as 2/1m,6/1h',
  })
  CARRIER_LIMITS_SMS_NIGHT = '2/1m,6/1h,40/1d';

  @Matches(/^\s*([01]?\d|2[0-3])\s*-\s*([01]?\d|2[0-3])\s*$/, {
    message: 'CARRIER_NIGHT_HOURS must be a range of hours such as 22-7',
  })
  CARRIER_NIGHT_HOURS = '22-7';

  /** Largest request body of every route (JSON, forms, text): a size such as 512kb or 1mb. */
  @IsOptional()
  @Matches(BYTE_SIZE, { message: 'BODY_LIMIT must be a size such as 512kb or 1mb' })
  BODY_LIMIT = '1mb';

  /**
   * Largest text body of the directory imports and the CAP import, read only once the bearer
   * token is known to carry the route's role (admin, duty_officer).
   */
  @IsOptional()
  @Matches(BYTE_SIZE, { message: 'IMPORT_BODY_LIMIT must be a size such as 200mb' })
  IMPORT_BODY_LIMIT = '200mb';

  /**
   * Express "trust proxy": which proxies' X-Forwarded-For names the client (for the rate limits).
   * Empty: none (the client is the TCP peer). E.g. `loopback`, `1` (hops), `10.0.0.0/8`.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^(true|false|\d{1,2}|[0-9A-Za-z.:/_-]+(\s*,\s*[0-9A-Za-z.:/_-]+)*)$/, {
    message: 'TRUST_PROXY must be true, false, a hop count, or a list of addresses / subnets',
  })
  TRUST_PROXY?: string;

  /** Window of the per-IP rate limits, in seconds. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  /**
   * Failed authentications per client IP and window before 429 (bad bearer tokens, forged
   * confirmation links; webhooks with a bad signature are counted apart). 0: no limit.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_FAILURES = 100;

  /** Requests per client IP and window to the public pages (/c/…, /console, /docs, /health, /metrics). 0: no limit. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_PUBLIC = 600;

  /**
   * Provider callbacks other than answers (status callbacks, a call's first TwiML, broadcast
   * receipts) handled at once by this API process; past it they are answered 503 with
   * Retry-After at once instead of queueing. 0: no limit. 1000: the process accepts up to
   * HTTP_ACCEPTS_PER_TURN connections a turn, so a burst of receipts arrives in hand at once (a
   * county's SMS at 400/s brought 260 × 3 within a second) rather than waiting in the listen
   * queue; with 200, one in ten was shed and left to the recovery sweep.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  WEBHOOK_MAX_IN_FLIGHT = 1000;

  /**
   * Answers (keypresses, SMS replies) being handled or recorded at once by this API process,
   * those acknowledged before they were recorded included; past it an answer is only kept in the
   * inbound spool (recorded by its worker) and answered "received". 503 with Retry-After (a Twilio
   * Gather action answered 503 is not retried) only for a key that needs the database to be
   * answered, or while as many answers are being spooled as this bound. 0: no limit.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  ANSWER_MAX_IN_FLIGHT = 1000;

  /**
   * An answer's webhook is answered by then (ms from its arrival) even if the answer is not yet
   * recorded: the recording goes on in this process's background. 0: wait for the recording.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(14_000)
  ANSWER_ACK_MS = 500;

  /**
   * More answers in hand in this API process than this: the fan-out of every worker yields to
   * them (FANOUT_YIELD_MAX_MS). At 500 answers a second some 20 are in hand even when none waits
   * for a transaction. 0: never.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  ANSWER_PRESSURE_IN_HAND = 16;
}

/** `1mb` → 1048576 (body-parser's units: powers of 1024). */
export function parseByteSize(size: string): number {
  const m = /^(\d+)(b|kb|mb|gb)?$/i.exec(size.trim());
  if (!m) throw new ConfigurationError(`not a size: ${size}`);
  return Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()];
}

/** TRUST_PROXY as Express takes it. */
export function trustProxySetting(value: string | undefined): boolean | number | string {
  if (!value || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map(
      (msg) => `  - ${e.property}: ${msg} (got ${JSON.stringify(e.value)})`,
    ),
  );
}

export class ConfigurationError extends Error {}

/** Validates raw env; throws a ConfigurationError listing every bad variable by name. */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    throw new ConfigurationError(`Invalid configuration:\n${describe(errors).join('\n')}`);
  }
  if (env.NODE_ENV === 'production' && !env.APP_SECRET) {
    throw new ConfigurationError(
      'Invalid configuration:\n  - APP_SECRET: required when NODE_ENV=production (at least 32 characters)',
    );
  }
  return env;
}
