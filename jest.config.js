/** @type {import('jest').Config} */
// One run covers unit specs beside the code (src/**/*.spec.ts) and integration / end-to-end
// tests under test/ (*.e2e-spec.ts), all against the real Postgres and Redis that the global
// setup starts.
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(src|test)/.*\\.(spec|e2e-spec)\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 180000,
  // Starts a throw-away Postgres and redis-server for the run and exports TEST_PG_ADMIN_URL /
  // TEST_REDIS_URL (see test/setup/global-setup.ts, test/helpers/).
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
};
