/**
 * One more gateway worker process (ROLE=worker) for `npm run bench -- scale --workers N`: forked by
 * gateway-harness.ts with the parent's environment (database, queue prefix, providers), it runs
 * every worker of the gateway on the same Postgres and Redis. With the null provider it counts who
 * it contacted; on 'stop' it closes and reports those counts and its peak RSS to the parent.
 */
import 'reflect-metadata';
import './decorator-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../src/app.module';
import { TWILIO_CLIENT } from '../src/channels/channels.tokens';
import type { TwilioClient } from '../src/channels/twilio/twilio-client.factory';
import type { GatewayRuntime } from '../src/common/runtime.token';
import { installNullProvider } from './gateway-harness';

async function main(): Promise<void> {
  const runtime: GatewayRuntime = {
    role: 'worker',
    databaseUrl: process.env.DATABASE_URL as string,
    queue: { backend: 'redis', url: process.env.BENCH_WORKER_REDIS_URL as string },
    embedded: { postgres: false, redis: false },
  };
  let peakMb = 0;
  const sample = setInterval(() => {
    peakMb = Math.max(peakMb, process.memoryUsage().rss / 2 ** 20);
  }, 250);
  const app = await NestFactory.createApplicationContext(AppModule.register(runtime), {
    logger: ['error', 'warn'],
  });
  const counted =
    process.env.BENCH_WORKER_PROVIDER === 'null'
      ? installNullProvider(app.get<TwilioClient>(TWILIO_CLIENT))
      : undefined;
  await app.init();
  process.send?.({ type: 'ready' });
  process.on('message', (msg: { type?: string }) => {
    if (msg?.type !== 'stop') return;
    void (async () => {
      clearInterval(sample);
      await app.close().catch(() => undefined);
      process.send?.(
        {
          type: 'report',
          peakMb: Math.round(peakMb),
          sms: counted ? [...counted.sent.sms.entries()] : [],
          voice: counted ? [...counted.sent.voice.entries()] : [],
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
