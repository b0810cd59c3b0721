import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateChannelsEnv } from '../../src/channels/channels.config';
import { validateEnv } from '../../src/config/env.validation';

const ROOT = join(__dirname, '../..');

/** `${VAR:?message}` and `${VAR:-default}` as docker compose fills them, with sample values. */
function interpolate(value: unknown, given: Record<string, string>): string {
  return String(value).replace(
    /\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g,
    (_m, name: string, op?: string, arg?: string) => {
      if (given[name] !== undefined) return given[name];
      if (op === '-') return arg ?? '';
      throw new Error(`compose needs ${name} (${arg ?? 'no default'})`);
    },
  );
}

interface ComposeService {
  environment?: Record<string, unknown>;
  healthcheck?: { test?: unknown };
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, ComposeService> };
const USER_ENV = { APP_SECRET: 'x'.repeat(40) };

describe('docker-compose.yml', () => {
  it.each(['api', 'worker'])(
    '%s: its environment passes the gateway configuration validation',
    (name) => {
      const service = compose.services[name];
      expect(service).toBeDefined();
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v, USER_ENV)]),
      );
      expect(() => validateEnv(env)).not.toThrow();
      expect(() => validateChannelsEnv(env)).not.toThrow();
      expect(env.MAIL_FROM).toBeTruthy();
    },
  );

  it.each(['api', 'worker'])('%s: has a healthcheck on its own health route', (name) => {
    const test = JSON.stringify(compose.services[name].healthcheck?.test ?? '');
    const env = compose.services[name].environment ?? {};
    const port = name === 'worker' ? String(env.WORKER_HTTP_PORT) : '3000';
    expect(test).toContain(`127.0.0.1:${port}/health`);
  });

  it('keeps local data, secrets and dependencies out of the image build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const path of ['node_modules', '.data', '.env', 'test-output'])
      expect(ignored).toContain(path);
  });
});
