import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';
import { OPEN_RESOURCES_KEY, type OpenResource } from '../helpers/open-apps';

/** How long one leftover may take to stop before the file moves on without it. */
const CLOSE_LEFTOVER_MS = 30_000;

/**
 * The node environment, plus one duty at the end of every test file: whatever the file started
 * through the helpers and did not stop (see test/helpers/open-apps.ts) is stopped when the file's
 * run finishes (after all of its own hooks, while its modules can still be loaded: at `teardown`
 * they cannot), and named on stderr. A leftover is a defect of the test file; stopping it keeps
 * one broken `afterAll` from hanging the whole run.
 */
export default class GatewayTestEnvironment extends TestEnvironment {
  async handleTestEvent(event: Circus.Event): Promise<void> {
    if (event.name === 'run_finish') await this.stopLeftovers();
  }

  async stopLeftovers(): Promise<void> {
    const open = this.global[OPEN_RESOURCES_KEY] as Set<OpenResource> | undefined;
    for (const resource of [...(open ?? [])]) {
      process.stderr.write(
        `[test-environment] ${resource.what} was left running by the test file; stopping it\n`,
      );
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        resource.close().then(
          () => 'stopped',
          (err: unknown) => `failed to stop: ${String(err)}`,
        ),
        new Promise<string>((resolve) => {
          timer = setTimeout(
            () => resolve(`still stopping after ${CLOSE_LEFTOVER_MS} ms`),
            CLOSE_LEFTOVER_MS,
          );
        }),
      ]);
      clearTimeout(timer);
      if (outcome !== 'stopped')
        process.stderr.write(`[test-environment] ${resource.what}: ${outcome}\n`);
      open?.delete(resource);
    }
  }
}
