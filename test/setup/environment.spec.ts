import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import GatewayTestEnvironment from './environment';
import { OPEN_RESOURCES_KEY, type OpenResource } from '../helpers/open-apps';

function environment(): GatewayTestEnvironment {
  const config = {
    globalConfig: {},
    projectConfig: { testEnvironmentOptions: {}, globals: {}, fakeTimers: {} },
  } as unknown as JestEnvironmentConfig;
  const context = {
    console,
    docblockPragmas: {},
    testPath: __filename,
  } as unknown as EnvironmentContext;
  return new GatewayTestEnvironment(config, context);
}

describe('the test environment stops what a test file left running', () => {
  let stderr: jest.SpyInstance;
  beforeEach(() => {
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => stderr.mockRestore());

  it('closes every resource still registered when the file ends, and names it', async () => {
    const env = environment();
    await env.setup();
    const closed: string[] = [];
    const open = new Set<OpenResource>([
      { what: 'app one', close: async () => void closed.push('app one') },
      { what: 'app two', close: async () => void closed.push('app two') },
    ]);
    (env.global as Record<string, unknown>)[OPEN_RESOURCES_KEY] = open;
    await env.handleTestEvent({ name: 'run_finish' } as Circus.Event);
    await env.teardown();
    expect(closed).toEqual(['app one', 'app two']);
    expect(open.size).toBe(0);
    const written = stderr.mock.calls.map(([s]) => String(s)).join('');
    expect(written).toContain('app one was left running by the test file');
    expect(written).toContain('app two was left running by the test file');
  });

  it('goes on when a leftover fails to stop, and says so', async () => {
    const env = environment();
    await env.setup();
    const closed: string[] = [];
    (env.global as Record<string, unknown>)[OPEN_RESOURCES_KEY] = new Set<OpenResource>([
      {
        what: 'broken app',
        close: async () => {
          throw new Error('queue connection refused');
        },
      },
      { what: 'next app', close: async () => void closed.push('next app') },
    ]);
    await env.handleTestEvent({ name: 'run_finish' } as Circus.Event);
    await env.teardown();
    expect(closed).toEqual(['next app']);
    const written = stderr.mock.calls.map(([s]) => String(s)).join('');
    expect(written).toContain('broken app: failed to stop: Error: queue connection refused');
  });

  it('writes nothing when the file stopped everything itself', async () => {
    const env = environment();
    await env.setup();
    await env.handleTestEvent({ name: 'run_finish' } as Circus.Event);
    await env.teardown();
    expect(stderr).not.toHaveBeenCalled();
  });
});
