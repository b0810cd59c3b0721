import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../../helpers/ports';

export const ROOT = path.resolve(__dirname, '../../..');
/** Where the compiled gateway is: dist/ (as `npm start`), or a folder of the caller's. */
let distDir = path.join(ROOT, 'dist');
const distMain = () => path.join(distDir, 'main.js');
const distCli = () => path.join(distDir, 'cli', 'main.js');

export { freePort };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Compiles the gateway (`tsc -p tsconfig.build.json`, into dist/ or `outDir`, which must lie inside
 * the project so that node_modules resolve) so that the API and workers run
 * as `node dist/main.js`, exactly as `npm start` runs them.
 */
export function buildGateway(log: (msg: string) => void, outDir?: string): void {
  if (outDir) distDir = path.resolve(outDir);
  log(`building the gateway (tsc -p tsconfig.build.json) into ${distDir}`);
  const r = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', distDir],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
}

/** Only what the gateway needs from the environment, nothing inherited by accident. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TZ', 'LANG', 'TMPDIR'];
  return Object.fromEntries(
    keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]),
  );
}

/** Runs the operator CLI (`dist/cli/main.js`) and returns its stdout. */
export function runCli(args: string[], env: Record<string, string>): string {
  const r = spawnSync(process.execPath, [distCli(), ...args], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`cli ${args[0]} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** One gateway process (ROLE=api or ROLE=worker) started as `node dist/main.js`. */
export class GatewayProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  readonly healthUrl: string;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
    private readonly healthPort: number,
    private readonly logFile: string,
  ) {
    this.healthUrl = `http://127.0.0.1:${healthPort}/health`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and waits until its /health answers (any status: it is listening). */
  async start(timeoutMs = 120_000): Promise<void> {
    const out = fs.openSync(this.logFile, 'a');
    fs.writeSync(out, `\n=== ${new Date().toISOString()} start ${this.name}\n`);
    const child = spawn(process.execPath, [distMain()], {
      cwd: ROOT,
      env: { ...baseEnv(), ...this.env },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void this.exited.then(() => (gone = true));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (gone) throw new Error(`${this.name} exited while starting (see ${this.logFile})`);
      try {
        const r = await fetch(this.healthUrl, { signal: AbortSignal.timeout(2_000) });
        await r.arrayBuffer();
        return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${this.name} did not start (see ${this.logFile})`);
      await sleep(250);
    }
  }

  /** kill -9: no shutdown hook runs, jobs in flight stay locked until their lock expires. */
  async kill9(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
