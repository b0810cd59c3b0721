/** @type {import('jest').Config} */
// One run covers unit specs beside the code (src/**/*.spec.ts) and integration / end-to-end
// tests under test/ (*.e2e-spec.ts), all against the real Postgres and Redis that the global
// setup starts.
module.exports = {
  rootDir: '.',
  // Node, plus stopping whatever a test file left running (test/setup/environment.ts).
  testEnvironment: '<rootDir>/test/setup/environment.ts',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(src|test)/.*\\.(spec|e2e-spec)\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 180000,
  // The last guard against a run that never ends (CI's limit instead of a verdict): once every
  // file has run and the global teardown stopped the servers, jest exits even if something a test
  // started is still reconnecting. Files' leftovers are stopped and named by the environment.
  forceExit: true,
  // Starts a throw-away Postgres and redis-server for the run and exports TEST_PG_ADMIN_URL /
  // TEST_REDIS_URL (see test/setup/global-setup.ts, test/helpers/).
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
};
