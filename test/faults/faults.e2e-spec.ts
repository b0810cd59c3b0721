/**
 * The fault suite's short form (README: "Fault suite"): the same scenarios as
 * `npm run test:faults`, on a county of a few thousand people (FAULTS_SHORT_PEOPLE), with the API and a worker as child
 * processes (`node dist/main.js`, built here) on the test run's Postgres and a redis-server of the
 * suite's own (restarted and flushed by the scenarios). Nothing may be sent twice and nobody may
 * be left unaccounted for; how fast it recovers is reported, not asserted.
 */
import * as path from 'node:path';
import { startInfra, type StartedInfra } from './harness/infra';
import { buildGateway, ROOT } from './harness/processes';
import { markdownTable, writeResults } from './harness/report';
import { SCENARIOS } from './harness/scenarios';
import { runSuite, type ScenarioResult, type SuiteOptions } from './harness/suite';
import { testPgAdminUrl } from '../helpers/database';

const RESIDENTS = Number(process.env.FAULTS_SHORT_PEOPLE ?? 2000);
/**
 * Three scenarios keep `npm test` short: kill -9 during escalation, Postgres refusing connections
 * and replayed / late webhooks. FAULTS_SHORT_SCENARIOS=all (or a comma list) runs more. The
 * recovery clocks (BullMQ's job lock, the sweep's re-enqueue age) are compressed in the harness
 * (QUEUE_LOCK_DURATION_MS, RECOVERY_REQUEUE_AFTER_SECONDS; FAULTS_REAL_CLOCKS=1 for the defaults).
 */
const CHOSEN = (
  process.env.FAULTS_SHORT_SCENARIOS ?? 'kill9-escalation,postgres-outage,webhooks-replayed'
)
  .split(',')
  .filter(Boolean);
const SHORT = CHOSEN.includes('all') ? SCENARIOS : SCENARIOS.filter((s) => CHOSEN.includes(s.name));
const OUT_DIR = path.join(ROOT, 'test-output', 'faults', 'short');

describe(`fault suite, short form (${RESIDENTS} residents): nothing sent twice, nobody unaccounted`, () => {
  let infra: StartedInfra | undefined;
  let results: ScenarioResult[] = [];
  const lines: string[] = [];
  const log = (msg: string) => void lines.push(`${new Date().toISOString()} ${msg}`);

  beforeAll(async () => {
    // A folder of its own: a `npm run test:faults` running meanwhile keeps using dist/.
    buildGateway(log, path.join(OUT_DIR, 'dist'));
    infra = await startInfra({
      dir: path.join(OUT_DIR, `runtime-${process.pid}`),
      pgAdminUrl: testPgAdminUrl(),
      log,
    });
    const opts: SuiteOptions = {
      residents: RESIDENTS,
      workers: 1,
      faultMs: 3_000,
      stepWaitSeconds: 8,
      // A deadline for completion, not a speed assertion.
      drainTimeoutMs: 600_000,
      outDir: OUT_DIR,
      log,
    };
    results = await runSuite(infra, SHORT, opts);
    const files = writeResults(OUT_DIR, { residents: RESIDENTS, form: 'short' }, results);
    process.stderr.write(`\n${markdownTable(results)}\n(${files.md})\n`);
  }, 1_800_000);

  afterAll(async () => {
    await infra?.stop();
    if (results.some((r) => r.error)) process.stderr.write(`${lines.join('\n')}\n`);
  });

  it.each(SHORT.map((s) => [s.name]))('%s', (name) => {
    const r = results.find((x) => x.scenario === name);
    expect(r).toBeDefined();
    expect({
      error: r?.error,
      drained: r?.drained,
      duplicates: r?.duplicates,
      duplicateExamples: r?.duplicateExamples,
      unaccounted: r?.unaccounted,
      answersLost: r?.answersLost,
    }).toEqual({
      error: undefined,
      drained: true,
      duplicates: 0,
      duplicateExamples: [],
      unaccounted: 0,
      answersLost: 0,
    });
    expect(r?.people).toBeGreaterThanOrEqual(RESIDENTS);
    // Answers posted while Postgres was cut are accounted for (answersLost above), not none.
    if (name === 'postgres-outage') expect(r?.answersDuringFault).toBeGreaterThan(0);
  });
});
