import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { prepare } from '../bootstrap/prepare';
import { CliModule } from './cli.module';

/** `npm run cli -- <command>`: prepares the database (embedded when DATABASE_URL is unset) first. */
async function main(): Promise<void> {
  const { runtime, stop } = await prepare({ attachToRunning: true });
  try {
    await CommandFactory.run(CliModule.register(runtime), {
      logger: ['error', 'warn'],
      errorHandler: (err) => {
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 1;
      },
    });
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
