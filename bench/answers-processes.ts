/**
 * The processes of the answers benchmark: the gateway's API (ROLE=api) and its workers
 * (ROLE=worker) each in a process of their own, as in production, the Twilio-like server in a
 * third, the no-op server of the limit in a fourth; the load generator is the parent. Each is
 * forked with `--import tsx` (whatever the parent's loader: tsx under `npm run bench`, ts-jest
 * under `npm test`) and answers-process.ts.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

export interface ProcessReport {
  peakMb: number;
  /** CPU time over the measured window, as a share of one core (2 = two cores busy). */
  cpuShare: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  sms?: [string, number][];
  voice?: [string, number][];
}

export interface BenchProcess<R extends Record<string, unknown>> {
  ready: R;
  /** Marks the start of the measured window (CPU time, event-loop delay). */
  measure(): void;
  stop(): Promise<ProcessReport>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function forkBenchProcess<R extends Record<string, unknown>>(
  kind: 'api' | 'worker' | 'stub' | 'noop',
  env: Record<string, string>,
): Promise<BenchProcess<R>> {
  const child: ChildProcess = fork(path.join(__dirname, 'answers-process.ts'), [], {
    env: { ...process.env, ...env, BENCH_PROCESS: kind },
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the API process, written there when it stops.
    execArgv: [
      '--import',
      'tsx',
      ...(kind === 'api' && process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<R>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench ${kind} process exited (${code})`)));
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') resolve(m as unknown as R);
    });
  });
  child.removeAllListeners('exit');
  let stopped: Promise<ProcessReport> | undefined;
  return {
    ready,
    measure: () => child.send({ type: 'measure' }),
    stop: () =>
      (stopped ??= new Promise<ProcessReport>((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error(`bench ${kind} process had exited`));
        child.on('message', (m: ProcessReport & { type?: string }) => {
          if (m?.type === 'report') resolve(m);
        });
        child.once('exit', (code) => reject(new Error(`bench ${kind} process exited (${code})`)));
        child.send({ type: 'stop' });
      })),
  };
}
