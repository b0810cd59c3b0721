/**
 * One process of the answers benchmark (forked by answers-processes.ts with `--import tsx`), as
 * in production each part in its own process:
 *
 * - `BENCH_PROCESS=api`: the gateway with ROLE=api (HTTP only, no queue worker) on
 *   BENCH_API_PORT; creates the duty officer's token and sends it to the parent;
 * - `BENCH_PROCESS=worker`: the gateway with ROLE=worker (every queue worker, no HTTP); with
 *   BENCH_WORKER_PROVIDER=null the SDK's create functions accept at once (installNullProvider);
 * - `BENCH_PROCESS=stub`: the Twilio-like server (twilio-stub.ts) the workers send to;
 * - `BENCH_PROCESS=noop`: the same-run limit, an HTTP server that answers every request at once.
 *
 * On `stop` each closes and reports its CPU time, peak RSS and event-loop delay (and the stub
 * who it was sent to) to the parent.
 */
import 'reflect-metadata';
import './decorator-metadata';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { GatewayRuntime } from '../src/common/runtime.token';

type Stop = () => Promise<Record<string, unknown>>;

async function start(): Promise<{ ready: Record<string, unknown>; stop: Stop }> {
  const kind = process.env.BENCH_PROCESS;
  if (kind === 'stub') {
    const { startTwilioStub } = await import('./twilio-stub');
    const stub = await startTwilioStub();
    return {
      ready: { url: stub.url },
      stop: async () => {
        await stub.close();
        return { sms: [...stub.sent.sms.entries()], voice: [...stub.sent.voice.entries()] };
      },
    };
  }
  if (kind === 'noop') {
    const { startNoopServer } = await import('./limits');
    const noop = await startNoopServer();
    return { ready: { url: noop.url }, stop: async () => (await noop.close(), {}) };
  }
  if (kind !== 'api' && kind !== 'worker') throw new Error(`BENCH_PROCESS=${kind}?`);
  const { AppModule } = await import('../src/app.module');
  const runtime: GatewayRuntime = {
    role: kind,
    databaseUrl: process.env.DATABASE_URL as string,
    queue: { backend: 'redis' as const, url: process.env.BENCH_REDIS_URL as string },
    embedded: { postgres: false, redis: false },
  };
  if (kind === 'worker') {
    const { NestFactory } = await import('@nestjs/core');
    const { TWILIO_CLIENT } = await import('../src/channels/channels.tokens');
    const { installNullProvider } = await import('./gateway-harness');
    const app = await NestFactory.createApplicationContext(AppModule.register(runtime), {
      logger: ['error', 'warn'],
    });
    if (process.env.BENCH_WORKER_PROVIDER === 'null') installNullProvider(app.get(TWILIO_CLIENT));
    await app.init();
    return { ready: {}, stop: async () => (await app.close(), {}) };
  }
  const { createHttpApp, listenHttp } = await import('../src/app.setup');
  const { TokensService } = await import('../src/modules/auth/tokens.service');
  const app = await createHttpApp(AppModule.register(runtime));
  await listenHttp(app, Number(process.env.BENCH_API_PORT), '127.0.0.1');
  const { token } = await app.get(TokensService).create({
    name: 'bench duty officer',
    role: 'duty_officer',
    jurisdiction: process.env.BENCH_COUNTY as string,
  });
  return { ready: { token }, stop: async () => (await app.close(), {}) };
}

async function main(): Promise<void> {
  let peakMb = 0;
  const sample = setInterval(() => {
    peakMb = Math.max(peakMb, process.memoryUsage().rss / 2 ** 20);
  }, 250);
  const { ready, stop } = await start();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const cpu0 = process.cpuUsage();
  let measureFrom = performance.now();
  process.send?.({ type: 'ready', ...ready });
  process.on('message', (msg: { type?: string }) => {
    if (msg?.type === 'measure') {
      // From here on: the window the parent measures (CPU, event loop).
      delay.reset();
      delay.enable();
      Object.assign(cpu0, process.cpuUsage());
      measureFrom = performance.now();
    }
    if (msg?.type !== 'stop') return;
    void (async () => {
      delay.disable();
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - measureFrom;
      clearInterval(sample);
      const extra = await stop().catch(() => ({}));
      process.send?.(
        {
          type: 'report',
          peakMb: Math.round(peakMb),
          // Share of one core used over the measured window.
          cpuShare: (cpu.user + cpu.system) / 1000 / Math.max(wallMs, 1),
          loopDelayP99Ms: delay.count ? delay.percentile(99) / 1e6 : 0,
          loopDelayMaxMs: delay.count ? delay.max / 1e6 : 0,
          ...extra,
        },
        () => process.exit(0),
      );
    })();
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
