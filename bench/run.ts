/**
 * Benchmarks entry: `npx tsx bench/run.ts [targeting|timers|audit] [options]` (see --help).
 *
 * Postgres: DATABASE_URL's server when set (a database per benchmark is created there and reused),
 * otherwise an embedded Postgres with its data under .data/bench (BENCH_PG_PORT, default 54339).
 */
import 'reflect-metadata';
import { runAuditBench } from './audit.bench';
import { runTargetingBench } from './targeting.bench';
import { runTimersBench } from './timers.bench';

const USAGE = `usage: tsx bench/run.ts [targeting] [--people N] [--runs N] [--batch-size N] [--reseed] [--no-explain]
       tsx bench/run.ts timers [--timers N] [--concurrency N] [--work-ms N] [--spread-ms N]
       tsx bench/run.ts audit [--writers N] [--batch N] [--seconds N] [--work-ms N]

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

  audit         audit appends per second with N concurrent writers, each appending small batches in
                its own transactions: the old design (global advisory lock, previous hash read), the
                sealed log (AuditService.append, sealer every 2 s) and the bare INSERT with no hash
                and no lock; results in bench/results/audit-*.json and .md (Postgres as targeting)
  --writers N   concurrent writers, one connection each (default 20)
  --batch N     events per transaction (default 5)
  --seconds N   seconds per design after a warm-up (default 10)
  --work-ms N   other work inside each transaction, stood in for by waiting (default 0)`;

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
    workMs: 0,
    spreadMs: 0,
    writers: 20,
    batch: 5,
    seconds: 10,
    auditWorkMs: 0,
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
    } else if (arg === '--people') opts.people = positive(arg, argv[++i]);
    else if (arg === '--runs') opts.runs = positive(arg, argv[++i]);
    else if (arg === '--batch-size') opts.batchSize = positive(arg, argv[++i]);
    else if (arg === '--reseed') opts.reseed = true;
    else if (arg === '--no-explain') opts.explain = false;
    else if (arg === '--timers') opts.timers = positive(arg, argv[++i]);
    else if (arg === '--workers') opts.workers = positive(arg, argv[++i]);
    else if (arg === '--concurrency') opts.concurrency = positive(arg, argv[++i]);
    else if (arg === '--work-ms') opts.workMs = opts.auditWorkMs = Number(argv[++i]) || 0;
    else if (arg === '--writers') opts.writers = positive(arg, argv[++i]);
    else if (arg === '--batch') opts.batch = positive(arg, argv[++i]);
    else if (arg === '--seconds') opts.seconds = Number(argv[++i]) || 10;
    else if (arg === '--spread-ms') opts.spreadMs = Number(argv[++i]) || 0;
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
