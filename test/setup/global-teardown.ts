/**
 * Jest global teardown: stops the Postgres and Redis that the global setup started and removes
 * their data (set TEST_KEEP_DATA=1 to keep `test-output/runtime-<pid>/` for inspection).
 */
import * as fs from 'node:fs';
import { handles, stateFile, stopFromState, type RuntimeState } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const file = stateFile(process.pid);
  const runtime = handles();
  let state: RuntimeState | undefined = runtime?.state;
  if (!state && fs.existsSync(file)) {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as RuntimeState;
  }

  // Normal case: the handles from the setup (same process). Then, whatever the state file still
  // names (e.g. the handles were lost) is stopped by pid.
  await runtime?.redis?.stop().catch(() => undefined);
  await runtime?.postgres?.stop().catch(() => undefined);
  if (state) await stopFromState(state);
  // Forget the URLs of the servers we stopped (jest --watch runs the setup again in this process).
  if (state?.postgres) delete process.env.TEST_PG_ADMIN_URL;
  if (state?.redis) delete process.env.TEST_REDIS_URL;

  if (state && process.env.TEST_KEEP_DATA !== '1') {
    fs.rmSync(state.dir, { recursive: true, force: true });
  }
  fs.rmSync(file, { force: true });
}
