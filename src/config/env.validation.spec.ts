import { ConfigurationError, validateEnv } from './env.validation';

describe('validateEnv', () => {
  it('applies defaults when nothing is configured', () => {
    const env = validateEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.ROLE).toBe('all');
    expect(env.QUEUE_PREFIX).toBe('{wg}');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.DEMO_COUNTY).toBe('513221');
  });

  it('reads typed values', () => {
    const env = validateEnv({ PORT: '8080', ROLE: 'worker', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(env.PORT).toBe(8080);
    expect(env.ROLE).toBe('worker');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ROLE: 'scheduler' }, 'ROLE'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ QUEUE_PREFIX: 'wg' }, 'QUEUE_PREFIX'],
    [{ APP_SECRET: 'short' }, 'APP_SECRET'],
    [{ DEMO_COUNTY: '5132' }, 'DEMO_COUNTY'],
    [{ PUBLIC_BASE_URL: 'not a url' }, 'PUBLIC_BASE_URL'],
  ])('refuses %j naming %s', (raw, name) => {
    expect(() => validateEnv(raw)).toThrow(ConfigurationError);
    expect(() => validateEnv(raw)).toThrow(new RegExp(`- ${name}: `));
  });

  it('lists every bad variable at once', () => {
    try {
      validateEnv({ PORT: 'x', ROLE: 'y' });
      throw new Error('expected a ConfigurationError');
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT/);
      expect((err as Error).message).toMatch(/ROLE/);
    }
  });

  it('requires APP_SECRET in production', () => {
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(/APP_SECRET: required/);
    expect(validateEnv({ NODE_ENV: 'production', APP_SECRET: 'k'.repeat(32) }).NODE_ENV).toBe(
      'production',
    );
  });
});
