import { startWorkerHttp } from './bootstrap/worker-http';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { createHttpApp, listenHttp } from './app.setup';
import { prepare } from './bootstrap/prepare';
import { type RunningSandbox, sandboxWanted, startSandbox } from './bootstrap/sandbox';
import { runDemo } from './demo/demo';

async function main(): Promise<void> {
  const { env, runtime, stop } = await prepare();

  // No real provider configured: a local sandbox carrier stands in for all of them (demo).
  let sandbox: RunningSandbox | undefined;
  if (sandboxWanted(process.env)) {
    if (runtime.role !== 'all') {
      process.stderr.write(
        '[gateway] no provider is configured and ROLE is not "all": configure Twilio, SMTP and the broadcast platform (see .env.example)\n',
      );
    } else {
      sandbox = await startSandbox({
        databaseUrl: runtime.databaseUrl,
        appSecret: env.APP_SECRET as string,
        publicBaseUrl: env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`,
      });
      Object.assign(process.env, sandbox.env);
      process.stderr.write(
        `[gateway] no provider configured: sandbox carrier at ${sandbox.carrier.baseUrl} stands in for Twilio, robots, broadcast and SMTP\n`,
      );
    }
  }

  const rootModule = AppModule.register(runtime);
  const app =
    runtime.role === 'worker'
      ? await NestFactory.createApplicationContext(rootModule, { bufferLogs: true })
      : await createHttpApp(rootModule);
  if (runtime.role === 'worker') app.useLogger(app.get(Logger));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[gateway] ${signal}: shutting down\n`);
    // Whatever is stuck (a queue backend that never answers), the process stops in bounded time.
    const deadlineMs = Number(env.SHUTDOWN_TIMEOUT_MS);
    setTimeout(() => {
      process.stderr.write(`[gateway] still stopping after ${deadlineMs} ms: exiting anyway\n`);
      process.exit(1);
    }, deadlineMs).unref();
    await app.close().catch(() => undefined);
    await sandbox?.stop().catch(() => undefined);
    await stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  if (runtime.role !== 'worker') {
    await listenHttp(app as Awaited<ReturnType<typeof createHttpApp>>, env.PORT);
    await runDemo(app, env, runtime, sandbox);
  } else {
    await app.init();
    startWorkerHttp(app, env.WORKER_HTTP_PORT);
    process.stderr.write(
      `[gateway] worker ready (queue backend: ${runtime.queue.backend}; health and metrics on :${env.WORKER_HTTP_PORT})\n`,
    );
  }
  if (sandbox) {
    const s = sandbox;
    await s.refreshRobots();
    // Robots imported later are picked up too.
    setInterval(() => void s.refreshRobots().catch(() => undefined), 15_000).unref();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[gateway] failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
