import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '../src/database/data-source';
import { MIGRATIONS } from '../src/database/migrations';
import { TargetingIndexes1763900000000 } from '../src/database/migrations/1763900000000-TargetingIndexes';
import { PERSON_ROLES, type PersonRole } from '../src/common/domain/directory.types';
import {
  buildTargetFilter,
  countSql,
  normalizeTargetQuery,
  recipientsSql,
} from '../src/modules/directory/targeting/targeting.sql';
import { TargetingService } from '../src/modules/directory/targeting/targeting.service';
import type { TargetQuery } from '../src/common/domain/targeting.types';
import { openBenchDatabase } from './bench-db';
import {
  BENCH_COUNTY,
  SEED_VERSION,
  benchCodes,
  readSeedInfo,
  seedBenchDirectory,
} from './targeting.seed';

export interface TargetingBenchOptions {
  /** People in the synthetic county (default 1,000,000). */
  people: number;
  /** Timed runs per scenario, after one warm-up run. */
  runs: number;
  batchSize: number;
  /** Regenerate the data even when the database already holds a matching seed. */
  reseed: boolean;
  /** Print EXPLAIN (ANALYZE, BUFFERS) key lines for each scenario. */
  explain: boolean;
  log: (msg: string) => void;
}

interface Scenario {
  name: string;
  query: TargetQuery;
}

interface Timing {
  recipients: number;
  countMs: number[];
  countByRoleMs: number[];
  streamMs: number[];
  /** Node CPU (user + system) during each stream. */
  clientCpuMs: number[];
  /** CPU of the database's backends during each stream; empty when /proc does not show them. */
  serverCpuMs: number[];
  peakHeapMb: number;
}

const EMPTY = { areas: [], hazardPoints: [], riskZones: [] };
const STAFF_ROLES = PERSON_ROLES.filter(
  (r): r is Exclude<PersonRole, 'resident'> => r !== 'resident',
);

/**
 * Times TargetingService on a synthetic county: count(), countByRole() and a full stream() (every
 * batch consumed) per scenario, then prints the EXPLAIN plans' key lines.
 */
export async function runTargetingBench(opts: TargetingBenchOptions): Promise<void> {
  const { log } = opts;
  const dbName = `targeting_bench_${opts.people}`;
  const db = await openBenchDatabase(dbName, log);
  const ds = new DataSource(buildDataSourceOptions(db.url));
  try {
    await ds.initialize();
    await runMigrations(ds);
    await ensureTargetingIndexes(ds, log);

    const seed = await readSeedInfo(ds);
    if (opts.reseed || !seed || seed.people !== opts.people || seed.version !== SEED_VERSION) {
      const started = Date.now();
      await seedBenchDirectory(ds, opts.people, log);
      log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else {
      log(`reusing the seeded database ${dbName} (--reseed to regenerate)`);
    }

    const [server] = await ds.query(
      `SELECT version() AS version, current_setting('shared_buffers') AS shared_buffers,
              current_setting('work_mem') AS work_mem, current_setting('jit') AS jit,
              current_setting('max_parallel_workers_per_gather') AS parallel,
              (SELECT count(*) FROM people) AS people, (SELECT count(*) FROM contact_points) AS contacts,
              pg_size_pretty(pg_total_relation_size('people')) AS people_size,
              pg_size_pretty(pg_total_relation_size('contact_points')) AS contacts_size`,
    );
    log('');
    log(`server:   ${String(server.version).split(',')[0]} — ${db.where}`);
    log(
      `settings: shared_buffers=${server.shared_buffers} work_mem=${server.work_mem} jit=${server.jit} ` +
        `max_parallel_workers_per_gather=${server.parallel}`,
    );
    log(
      `data:     ${Number(server.people).toLocaleString('en')} people (${server.people_size} with indexes), ` +
        `${Number(server.contacts).toLocaleString('en')} contact points (${server.contacts_size})`,
    );
    log(
      `client:   Node ${process.version}, batchSize ${opts.batchSize}, ${opts.runs} timed runs after 1 warm-up`,
    );
    log(
      `machine:  ${cpus().length} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at start`,
    );

    const codes = await benchCodes(ds);
    const scenarios: Scenario[] = [
      { name: `county ${BENCH_COUNTY}`, query: { ...EMPTY, areas: [BENCH_COUNTY] } },
      {
        name: `county, staff roles only`,
        query: { ...EMPTY, areas: [BENCH_COUNTY], roles: STAFF_ROLES },
      },
      { name: `township ${codes.township}`, query: { ...EMPTY, areas: [codes.township] } },
      { name: `village ${codes.village}`, query: { ...EMPTY, areas: [codes.village] } },
      {
        name: `hazard point ${codes.hazardPoint}`,
        query: { ...EMPTY, hazardPoints: [codes.hazardPoint] },
      },
      {
        name: `township+village+20 HP+5 RZ`,
        query: {
          areas: [codes.township, codes.otherVillage],
          hazardPoints: codes.hazardPoints,
          riskZones: codes.riskZones,
        },
      },
    ];

    const targeting = new TargetingService(ds);
    const results: [Scenario, Timing][] = [];
    for (const scenario of scenarios) {
      log(`running: ${scenario.name}`);
      results.push([scenario, await timeScenario(targeting, ds, scenario.query, opts)]);
    }

    log('');
    printTable(results, log);
    log(
      `(medians of ${opts.runs} runs; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end)`,
    );

    if (opts.explain) {
      for (const scenario of scenarios) {
        log('');
        log(`── ${scenario.name} ──`);
        const filter = buildTargetFilter(normalizeTargetQuery(scenario.query));
        for (const [label, sql] of [
          ['count()', countSql(filter)],
          ['stream() query', recipientsSql(filter)],
        ] as const) {
          const rows: { 'QUERY PLAN': string }[] = await ds.query(
            `EXPLAIN (ANALYZE, BUFFERS) ${sql}`,
            filter.params,
          );
          log(`  ${label}:`);
          for (const line of keyPlanLines(rows.map((r) => r['QUERY PLAN']))) log(`    ${line}`);
        }
      }
    }
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await db.stop();
  }
}

/** Until the migration is registered in MIGRATIONS, apply it here (it is idempotent). */
async function ensureTargetingIndexes(ds: DataSource, log: (msg: string) => void): Promise<void> {
  if ((MIGRATIONS as unknown[]).includes(TargetingIndexes1763900000000)) return;
  const runner = ds.createQueryRunner();
  try {
    await new TargetingIndexes1763900000000().up(runner);
    log('applied TargetingIndexes1763900000000 directly (not registered in MIGRATIONS yet)');
  } finally {
    await runner.release();
  }
}

/**
 * CPU ms (user + system) used so far by each backend connected to the benchmark database, read
 * from /proc: only when Postgres runs on this machine and /proc shows its processes.
 */
async function backendCpu(ds: DataSource): Promise<Map<number, number> | undefined> {
  const pids: { pid: number }[] = await ds.query(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`,
  );
  const result = new Map<number, number>();
  for (const { pid } of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime, in clock ticks (USER_HZ, 100 on Linux).
      result.set(pid, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      return undefined;
    }
  }
  return result;
}

async function timeScenario(
  targeting: TargetingService,
  ds: DataSource,
  query: TargetQuery,
  opts: TargetingBenchOptions,
): Promise<Timing> {
  const timing: Timing = {
    recipients: 0,
    countMs: [],
    countByRoleMs: [],
    streamMs: [],
    clientCpuMs: [],
    serverCpuMs: [],
    peakHeapMb: 0,
  };
  for (let run = 0; run <= opts.runs; run++) {
    const timed = run > 0;

    let t = performance.now();
    const count = await targeting.count(query);
    if (timed) timing.countMs.push(performance.now() - t);

    t = performance.now();
    const byRole = await targeting.countByRole(query);
    if (timed) timing.countByRoleMs.push(performance.now() - t);

    global.gc?.();
    const heapBase = process.memoryUsage().heapUsed;
    let peak = 0;
    let streamed = 0;
    let contacts = 0;
    const serverBefore = await backendCpu(ds);
    const cpuBefore = process.cpuUsage();
    t = performance.now();
    for await (const batch of targeting.stream(query, { batchSize: opts.batchSize })) {
      streamed += batch.length;
      for (const r of batch) contacts += r.contacts.length;
      peak = Math.max(peak, process.memoryUsage().heapUsed - heapBase);
    }
    const elapsed = performance.now() - t;
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = await backendCpu(ds);
    if (timed) {
      timing.streamMs.push(elapsed);
      timing.clientCpuMs.push((cpu.user + cpu.system) / 1000);
      if (serverBefore && serverAfter) {
        let ms = 0;
        for (const [pid, after] of serverAfter) ms += after - (serverBefore.get(pid) ?? 0);
        timing.serverCpuMs.push(ms);
      }
    }
    timing.peakHeapMb = Math.max(timing.peakHeapMb, peak / 2 ** 20);

    const byRoleTotal = Object.values(byRole).reduce((a, b) => a + b, 0);
    if (streamed !== count || byRoleTotal !== count) {
      throw new Error(`mismatch: count ${count}, countByRole ${byRoleTotal}, streamed ${streamed}`);
    }
    if (streamed > 0 && contacts === 0) throw new Error('recipients came without contacts');
    timing.recipients = count;
  }
  return timing;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));

function printTable(results: [Scenario, Timing][], log: (msg: string) => void): void {
  const header = [
    'scenario',
    'recipients',
    'count ms (med/min)',
    'byRole ms (med)',
    'stream ms (med/min)',
    'stream rows/s',
    'client CPU ms',
    'server CPU ms',
    'peak heap MB',
  ];
  const rows = results.map(([s, t]) => {
    const streamMed = median(t.streamMs);
    return [
      s.name,
      t.recipients.toLocaleString('en'),
      `${ms(median(t.countMs))} / ${ms(Math.min(...t.countMs))}`,
      ms(median(t.countByRoleMs)),
      `${ms(streamMed)} / ${ms(Math.min(...t.streamMs))}`,
      t.recipients ? Math.round((t.recipients / streamMed) * 1000).toLocaleString('en') : '-',
      ms(median(t.clientCpuMs)),
      t.serverCpuMs.length ? ms(median(t.serverCpuMs)) : '-',
      t.peakHeapMb.toFixed(1),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  log(line(header));
  log(
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const r of rows) log(line(r));
}

/** Plan nodes, their index / filter conditions and the totals; buffers only for the top node. */
function keyPlanLines(plan: string[]): string[] {
  const keep =
    /->|^\S|Index Cond|Recheck Cond|Filter:|Hash Cond|Heap Blocks|Rows Removed|InitPlan|SubPlan|Execution Time|Planning Time|Workers|JIT:|Timing:/;
  const out: string[] = [];
  plan.forEach((line, i) => {
    if (!keep.test(line) && !(i === 1 && /Buffers/.test(line))) return;
    const trimmed = line.replace(/\(cost=[^)]*\) /, '');
    out.push(trimmed.length > 170 ? `${trimmed.slice(0, 167)}...` : trimmed);
  });
  return out;
}
