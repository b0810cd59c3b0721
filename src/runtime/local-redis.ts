import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export interface LocalRedisOptions {
  /** Runtime data folder; Redis works in `<dataDir>/redis`. */
  dataDir: string;
  port: number;
  log: (msg: string) => void;
  /** Append-only file persistence (default true). Tests pass false. */
  persistent?: boolean;
}

export interface LocalRedis {
  url: string;
  /** SIGTERM (Redis flushes the AOF and exits); idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

/** Absolute path of `redis-server` on PATH (Debian installs it in /usr/bin), or undefined. */
export async function findRedisServer(): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    const candidate = path.join(dir, 'redis-server');
    try {
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Spawns Debian's `redis-server` on 127.0.0.1:`port`, working in `<dataDir>/redis`, and waits until
 * it answers PING. Returns null when `redis-server` is not installed. A server left running on
 * that folder by a crashed previous run (found through its pid file) is stopped first.
 */
export async function startLocalRedis(opts: LocalRedisOptions): Promise<LocalRedis | null> {
  const binary = await findRedisServer();
  if (!binary) return null;
  const log = opts.log;
  const dir = path.resolve(opts.dataDir, 'redis');
  await fs.mkdir(dir, { recursive: true });
  const pidFile = path.join(dir, 'redis.pid');
  await stopLeftover(pidFile, binary, log);

  const persistent = opts.persistent ?? true;
  const args = [
    '--bind', '127.0.0.1',
    '--port', String(opts.port),
    '--dir', dir,
    '--pidfile', pidFile,
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--logfile', '',
    '--loglevel', 'notice',
    '--save', '',
    '--appendonly', persistent ? 'yes' : 'no',
  ]; // prettier-ignore

  log(`local Redis: starting ${binary} on 127.0.0.1:${opts.port} (dir ${dir})`);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const recent: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      const text = line.trim();
      if (!text) continue;
      recent.push(text);
      if (recent.length > 30) recent.shift();
      log(`[redis] ${text}`);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);

  let exited = false;
  let stopping: Promise<void> | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      process.removeListener('exit', onProcessExit);
      if (!stopping) log(`local Redis exited (code ${code}, signal ${signal})`);
      resolve();
    });
    child.once('error', (err) => {
      exited = true;
      log(`local Redis: could not run ${binary}: ${err.message}`);
      resolve();
    });
  });
  // Safety net when the process exits without calling stop().
  const onProcessExit = () => {
    if (!exited) child.kill('SIGTERM');
  };
  process.once('exit', onProcessExit);

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
      log('local Redis: stopped');
    })();
    return stopping;
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      const hint = recent.some((l) => /address already in use/i.test(l))
        ? ` Port ${opts.port} is taken.`
        : '';
      throw new Error(`local Redis failed to start.${hint}\n${recent.slice(-10).join('\n')}`);
    }
    if (await ping(opts.port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`local Redis did not answer PING within ${READY_TIMEOUT_MS / 1000}s`);
    }
    await sleep(100);
  }
  log(`local Redis: ready at 127.0.0.1:${opts.port}`);
  return { url: `redis://127.0.0.1:${opts.port}`, stop };
}

/** True when a Redis server on 127.0.0.1:port answers PING with +PONG. */
export function ping(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Stops a redis-server that a crashed previous run left on this folder (pid file + /proc check). */
async function stopLeftover(
  pidFile: string,
  binary: string,
  log: (msg: string) => void,
): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(await fs.readFile(pidFile, 'utf8'), 10);
  } catch {
    return;
  }
  // Only a redis-server working in this very folder is ours (Debian's redis-server is a symlink
  // to redis-check-rdb, hence the two names).
  let isRedis = false;
  if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
    try {
      const [exe, cwd] = await Promise.all([
        fs.readlink(`/proc/${pid}/exe`),
        fs.readlink(`/proc/${pid}/cwd`),
      ]);
      const name = path.basename(exe);
      isRedis =
        (exe === binary || name.startsWith('redis-server') || name === 'redis-check-rdb') &&
        cwd === (await fs.realpath(path.dirname(pidFile)));
    } catch {
      isRedis = false;
    }
  }
  if (isRedis) {
    log(`local Redis: stopping a leftover redis-server (pid ${pid})`);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (Date.now() < deadline && alive(pid)) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await fs.rm(pidFile, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
