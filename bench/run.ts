/**
 * Benchmarks entry: `npx tsx bench/run.ts [targeting|timers|audit|fanout|answers|scale] [options]`
 * (see --help).
 *
 * Postgres: DATABASE_URL's server when set (a database per benchmark is created there and reused),
 * otherwise an embedded Postgres with its data under .data/bench (BENCH_PG_PORT, default 54339).
 */
import 'reflect-metadata';
// Before any module of the gateway: Nest needs the decorator metadata tsx does not emit.
import './decorator-metadata';
import { runAnswersBench } from './answers.bench';
import { runAuditBench } from './audit.bench';
import { runEtaBench } from './eta.bench';
import { runFanoutBench } from './fanout.bench';
import { runTargetingBench } from './targeting.bench';
import { runTimersBench } from './timers.bench';

const USAGE = `usage: tsx bench/run.ts [targeting] [--people N] [--runs N] [--batch-size N] [--reseed] [--no-explain]
       tsx bench/run.ts timers [--timers N] [--concurrency N] [--work-ms N] [--spread-ms N] [--lead-ms N]
       tsx bench/run.ts audit [--writers N] [--batch N] [--seconds N] [--work-ms N]
       tsx bench/run.ts fanout [--people N] [--provider null|http] [--timeout S] [--concurrency N]
       tsx bench/run.ts answers [--people N] [--provider null|http] [--rate R] [--seconds S]
       tsx bench/run.ts scale [--people N] [--provider null|http] [--timeout S] [--workers N] [--no-limit]
       tsx bench/run.ts eta [--people N] [--provider null|http] [--sms-rate R] [--call-rate R] [--timeout S]

  targeting     TargetingService: count(), countByRole() and a full stream() for a county, a township,
                a village, a hazard point and a mixed target (the default)
  --people N    people in the synthetic county (default 1000000); the database is targeting_bench_<N>
  --runs N      timed runs per scenario after one warm-up (default 5)
  --batch-size  stream() batch size (default 1000)
  --reseed      regenerate the data even if the database already holds it
  --no-explain  skip the EXPLAIN (ANALYZE, BUFFERS) key lines

  timers        叫应 step timers due at one instant: the gateway's grouped timers (one job per warning,
                step and due second, advancing every due delivery in SQL, run by its escalation
                worker) against the same-run limit, as many no-op BullMQ delayed jobs; lateness
                p50/p99/max and the ratio; results in bench/results/timers-*.json and .md
                (Redis: REDIS_URL or a local redis-server; Postgres as targeting, database timers_bench)
  --timers N    timers (default 20000)
  --concurrency escalation jobs run at once (default 10, as the gateway runs them)
  --work-ms N   the limit's handler work, stood in for by waiting (default 0: no-op)
  --spread-ms N due times spread over this window (default 0: all due at the same instant)
  --lead-ms N   the due instant this long ahead, chosen before the warning is written (default
                4000 + N/20; the gateway schedules its timers minutes ahead)

  audit         audit appends per second with N concurrent writers, each appending small batches in
                its own transactions: the old design (global advisory lock, previous hash read), the
                sealed log (AuditService.append, sealer every 2 s) and the bare INSERT with no hash
                and no lock; results in bench/results/audit-*.json and .md (Postgres as targeting)
  --writers N   concurrent writers, one connection each (default 20)
  --batch N     events per transaction (default 5)
  --seconds N   seconds per design after a warm-up (default 10)
  --work-ms N   other work inside each transaction, stood in for by waiting (default 0)

  fanout        a red warning to a synthetic county through the whole gateway in this process (HTTP,
                workers, real Postgres and Redis, provider rate limits raised out of the way): time
                to fanout_done_at and until every first contact is handed to the provider, against
                the same-run limit (COPY of the same rows + BullMQ addBulk and processing of as many
                jobs + as many twilio-SDK requests to a server that answers at once); results in
                bench/results/fanout-*.json and .md; a fresh database per run (Postgres as targeting,
                Redis as timers)
  --people N    people in the county (default 20000 for fanout and answers, 100000 for scale)
  --provider    null: an in-process provider that accepts at once (the SDK's create replaced);
                http: the twilio SDK over HTTP to a local Twilio-like server (default)
  --timeout S   stop waiting for the first contacts after S seconds (default 900)
  --concurrency the gateway's SMS send concurrency, for it and for the limit (default 50 and
                voice 20, the gateway's defaults; given: voice half of it)

  answers       keypress webhooks signed as Twilio does, offered at R/s for S seconds while an
                imminent warning's fan-out to N people (an SMS and a call each) is in flight:
                p50/p99 from request to answer recorded, lost and late (> 1 s) answers, against
                the same requests to a no-op HTTP server in the same run
  --rate R      webhooks per second (default 500)
  --seconds S   seconds of webhooks (default 60)

  scale         fanout at 100000 people (or --people 1000000) with the peak RSS of this process
                (the gateway) and of Redis
  --workers N   gateway processes: this one (HTTP and workers) plus N-1 worker processes on the
                same Postgres and Redis (fanout and scale; default 1); nobody may be contacted twice
  --no-limit    skip the same-run limit

  eta           the ETA of the last first contact shown at issue against the actual finish, with the
                providers' real rate limits (not raised): a red warning to --people N (default 1000);
                the ETA error and each channel's achieved rate against its limit; results in
                bench/results/eta-*.json and .md
  --sms-rate R  TWILIO_SMS_PER_SECOND for the run (default 10)
  --call-rate R TWILIO_CALLS_PER_SECOND for the run (default 1)`;

function parseArgs(argv: string[]) {
  const opts = {
    bench: 'targeting',
    people: 1_000_000,
    runs: 5,
    batchSize: 1000,
    reseed: false,
    explain: true,
    timers: 20_000,
    workers: 1,
    concurrency: 10,
    concurrencySet: false,
    workMs: 0,
    spreadMs: 0,
    leadMs: 0,
    writers: 20,
    batch: 5,
    seconds: 10,
    auditWorkMs: 0,
    provider: 'http' as 'null' | 'http',
    peopleSet: false,
    secondsSet: false,
    rate: 500,
    timeout: 900,
    noLimit: false,
    smsRate: 10,
    callRate: 1,
  };
  const positive = (flag: string, value: string | undefined) => {
    const n = Number(value?.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === '--people') {
      opts.people = positive(arg, argv[++i]);
      opts.peopleSet = true;
    } else if (arg === '--provider') {
      const p = argv[++i];
      if (p !== 'null' && p !== 'http') throw new Error('--provider is null or http');
      opts.provider = p;
    } else if (arg === '--rate') opts.rate = positive(arg, argv[++i]);
    else if (arg === '--sms-rate') opts.smsRate = positive(arg, argv[++i]);
    else if (arg === '--call-rate') opts.callRate = positive(arg, argv[++i]);
    else if (arg === '--timeout') opts.timeout = positive(arg, argv[++i]);
    else if (arg === '--no-limit') opts.noLimit = true;
    else if (arg === '--runs') opts.runs = positive(arg, argv[++i]);
    else if (arg === '--batch-size') opts.batchSize = positive(arg, argv[++i]);
    else if (arg === '--reseed') opts.reseed = true;
    else if (arg === '--no-explain') opts.explain = false;
    else if (arg === '--timers') opts.timers = positive(arg, argv[++i]);
    else if (arg === '--workers') opts.workers = positive(arg, argv[++i]);
    else if (arg === '--concurrency') {
      opts.concurrency = positive(arg, argv[++i]);
      opts.concurrencySet = true;
    } else if (arg === '--work-ms') opts.workMs = opts.auditWorkMs = Number(argv[++i]) || 0;
    else if (arg === '--writers') opts.writers = positive(arg, argv[++i]);
    else if (arg === '--batch') opts.batch = positive(arg, argv[++i]);
    else if (arg === '--seconds') {
      opts.seconds = Number(argv[++i]) || 10;
      opts.secondsSet = true;
    } else if (arg === '--spread-ms') opts.spreadMs = Number(argv[++i]) || 0;
    else if (arg === '--lead-ms') opts.leadMs = positive(arg, argv[++i]);
    else if (!arg.startsWith('-')) opts.bench = arg;
    else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (msg: string) => console.log(msg);
  switch (opts.bench) {
    case 'targeting':
      await runTargetingBench({ ...opts, log });
      break;
    case 'timers':
      await runTimersBench({ ...opts, log });
      break;
    case 'audit':
      await runAuditBench({ ...opts, workMs: opts.auditWorkMs, log });
      break;
    case 'fanout':
    case 'scale': {
      const scale = opts.bench === 'scale';
      await runFanoutBench({
        name: scale ? 'scale' : 'fanout',
        people: opts.peopleSet ? opts.people : scale ? 100_000 : 20_000,
        provider: opts.provider,
        timeoutSeconds: opts.timeout,
        // The gateway's defaults (SEND_SMS_CONCURRENCY 50, SEND_VOICE_CONCURRENCY 20) unless given.
        smsConcurrency: opts.concurrencySet ? opts.concurrency : 50,
        voiceConcurrency: opts.concurrencySet ? Math.max(1, Math.round(opts.concurrency / 2)) : 20,
        // The gateway's batch jobs of first SMS (SEND_SMS_BATCH_CONCURRENCY × SEND_SMS_BATCH, 8 ×
        // 100 by default; the bench's rate of 10,000 SMS/s leaves the batch size as given).
        smsBatchSends:
          Number(process.env.SEND_SMS_BATCH_CONCURRENCY ?? 8) *
          Number(process.env.SEND_SMS_BATCH ?? 100),
        noLimit: opts.noLimit,
        workers: opts.workers,
        log,
      });
      break;
    }
    case 'eta':
      await runEtaBench({
        people: opts.peopleSet ? opts.people : 1000,
        provider: opts.provider,
        smsPerSecond: opts.smsRate,
        callsPerSecond: opts.callRate,
        timeoutSeconds: opts.timeout,
        log,
      });
      break;
    case 'answers':
      await runAnswersBench({
        people: opts.peopleSet ? opts.people : 20_000,
        provider: opts.provider,
        rate: opts.rate,
        seconds: opts.secondsSet ? opts.seconds : 60,
        log,
      });
      break;
    default:
      throw new Error(`unknown benchmark ${opts.bench}\n${USAGE}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
