import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { createHttpApp } from './app.setup';
import { prepare } from './bootstrap/prepare';
import { runDemo } from './demo/demo';

async function main(): Promise<void> {
  const { env, runtime, stop } = await prepare();
  const rootModule = AppModule.register(runtime);

  const app =
    runtime.role === 'worker'
      ? await NestFactory.createApplicationContext(rootModule, { bufferLogs: true })
      : await createHttpApp(rootModule);
  if (runtime.role === 'worker') app.useLogger(app.get(Logger));
  app.enableShutdownHooks();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[gateway] ${signal}: shutting down\n`);
    await app.close().catch(() => undefined);
    await stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  if (runtime.role !== 'worker') {
    await (app as Awaited<ReturnType<typeof createHttpApp>>).listen(env.PORT);
    await runDemo(app, env, runtime);
  } else {
    process.stderr.write(`[gateway] worker ready (queue backend: ${runtime.queue.backend})\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[gateway] failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
