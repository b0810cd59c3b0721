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
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 60000,
};
