/**
 * `npm run test:faults [-- --people N --workers N --only a,b --fault-ms N]`: the fault suite at
 * full size (README: "Fault suite"). Exits 1 when any scenario sent a message twice, left someone
 * unaccounted for, never drained, or could not run.
 */
import 'reflect-metadata';
import * as path from 'node:path';
import { startInfra } from './harness/infra';
import { buildGateway, ROOT } from './harness/processes';
import { markdownTable, writeResults } from './harness/report';
import { SCENARIOS } from './harness/scenarios';
import { failed, runSuite, type SuiteOptions } from './harness/suite';

const USAGE = `usage: npm run test:faults -- [--people N] [--workers 1|2] [--only name,name] [--fault-ms N]
                                [--step-wait S] [--drain-timeout S] [--no-build]
  --people N        residents of the synthetic county (default 20000; env FAULTS_PEOPLE)
  --workers N       worker processes (default 2)
  --only a,b        scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
  --fault-ms N      length of each fault phase (default 20000)
  --step-wait S     叫应 step wait of every policy, seconds (default 30)
  --drain-timeout S deadline for a backlog to drain after its fault (default 900)
  --no-build        use dist/ as it is
Postgres: an embedded server under test-output/faults/runtime (or TEST_PG_ADMIN_URL's server);
Redis: a redis-server of its own. Results: test-output/faults/faults-<time>.json and .md`;

function parse(argv: string[]) {
  const o = {
    people: Number(process.env.FAULTS_PEOPLE ?? 20_000),
    workers: 2,
    only: [] as string[],
    faultMs: 20_000,
    stepWait: 30,
    drainTimeout: 900,
    build: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a whole number ≥ 1`);
      return n;
    };
    if (a === '--people') o.people = num();
    else if (a === '--workers') o.workers = num();
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--fault-ms') o.faultMs = num();
    else if (a === '--step-wait') o.stepWait = num();
    else if (a === '--drain-timeout') o.drainTimeout = num();
    else if (a === '--no-build') o.build = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  const unknown = o.only.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}\n${USAGE}`);
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const outDir = path.join(ROOT, 'test-output', 'faults');
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  // FAULTS_DIST_DIR: build into a folder of its own (inside the project), leaving dist/ alone.
  if (o.build) buildGateway(log, process.env.FAULTS_DIST_DIR);
  const infra = await startInfra({
    dir: path.join(outDir, 'runtime'),
    pgAdminUrl: process.env.TEST_PG_ADMIN_URL,
    log,
  });
  const stop = () => void infra.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let results;
  const started = Date.now();
  try {
    const opts: SuiteOptions = {
      residents: o.people,
      workers: o.workers,
      only: o.only,
      faultMs: o.faultMs,
      stepWaitSeconds: o.stepWait,
      drainTimeoutMs: o.drainTimeout * 1000,
      outDir,
      log,
    };
    results = await runSuite(infra, SCENARIOS, opts);
  } finally {
    await infra.stop();
  }
  const files = writeResults(
    outDir,
    {
      residents: o.people,
      workers: o.workers,
      faultMs: o.faultMs,
      stepWaitSeconds: o.stepWait,
      finishedAt: new Date().toISOString(),
      totalSeconds: Math.round((Date.now() - started) / 1000),
    },
    results,
  );
  process.stdout.write(`\n${markdownTable(results)}\n\nresults: ${files.md}\n`);
  const bad = results.filter(failed);
  for (const r of bad)
    process.stdout.write(
      `FAILED ${r.scenario}: ${r.error ?? `${r.duplicates} duplicates, ${r.unaccounted} unaccounted, drained ${r.drained}`}\n`,
    );
  process.exit(bad.length ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
