import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandFactory } from 'nest-commander';
import { DataSource } from 'typeorm';
import { CliModule } from '../../src/cli/cli.module';
import type { GatewayRuntime } from '../../src/common/runtime.token';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { hashToken } from '../../src/modules/auth/tokens.service';
import { BASE_DIRECTORY_SQL } from '../helpers/app';
import { createTestDatabase } from '../helpers/database';

/** Runs `npm run cli -- <args>` in-process; returns what it printed and the exit code it set. */
async function cli(
  runtime: GatewayRuntime,
  ...args: string[]
): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const so = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const se = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  const argv = process.argv;
  process.argv = ['node', 'cli', ...args];
  process.exitCode = 0;
  try {
    await CommandFactory.run(CliModule.register(runtime), { logger: false });
  } finally {
    process.argv = argv;
    so.mockRestore();
    se.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out: out.join(''), err: err.join(''), code };
}

describe('operator CLI', () => {
  let db: DataSource;
  let runtime: GatewayRuntime;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    process.env.DATABASE_URL = database.url;
    process.env.APP_SECRET = 'cli-e2e-secret'.padEnd(40, 'c');
    db = new DataSource(buildDataSourceOptions(database.url));
    await db.initialize();
    await runMigrations(db);
    await db.query(BASE_DIRECTORY_SQL);
    runtime = {
      role: 'all',
      databaseUrl: database.url,
      queue: { backend: 'redis', url: process.env.TEST_REDIS_URL as string },
      embedded: { postgres: false, redis: false },
    };
  });
  afterAll(async () => {
    await db.destroy();
    await drop();
  });

  it('tokens:create prints the new token alone on the last line, stored only as a hash', async () => {
    const r = await cli(
      runtime,
      'tokens:create',
      '--role',
      'duty_officer',
      '--jurisdiction',
      '513221',
      '--name',
      '县值班室',
    );
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    const token = lines[lines.length - 1];
    expect(token).toMatch(/^wgt_[A-Za-z0-9_-]{43}$/);
    const [row] = await db.query(
      `SELECT role, jurisdiction, name FROM api_tokens WHERE token_hash = $1`,
      [hashToken(token)],
    );
    expect(row).toEqual({ role: 'duty_officer', jurisdiction: '513221', name: '县值班室' });
    expect(JSON.stringify(await db.query(`SELECT * FROM api_tokens`))).not.toContain(token);
  });

  it('tokens:create refuses a bad role or a missing jurisdiction, naming it, and creates nothing', async () => {
    const before = (await db.query(`SELECT count(*)::int AS n FROM api_tokens`))[0].n;
    const badRole = await cli(runtime, 'tokens:create', '--role', 'mayor');
    expect(badRole.code).toBe(1);
    expect(badRole.err).toMatch(/role/);
    const noScope = await cli(runtime, 'tokens:create', '--role', 'duty_officer');
    expect(noScope.code).toBe(1);
    expect(noScope.err).toMatch(/jurisdiction/);
    expect((await db.query(`SELECT count(*)::int AS n FROM api_tokens`))[0].n).toBe(before);
  });

  it('tokens:revoke revokes by id, and tokens:list shows it revoked', async () => {
    const created = await cli(runtime, 'tokens:create', '--role', 'auditor');
    const token = created.out.trimEnd().split('\n').pop() as string;
    const [{ id }] = await db.query(`SELECT id FROM api_tokens WHERE token_hash = $1`, [
      hashToken(token),
    ]);
    const revoked = await cli(runtime, 'tokens:revoke', id);
    expect(revoked.code).toBe(0);
    const list = await cli(runtime, 'tokens:list');
    expect(list.out).toMatch(new RegExp(`${id}\\tauditor\\t-\\trevoked`));
  });

  it('import <kind> <file> writes a good file and refuses a bad one whole, naming rows and fields', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-import-'));
    const good = join(dir, 'divisions.csv');
    writeFileSync(good, 'code,name\n513221002,漩口镇\n513221002001,漩口村\n');
    const ok = await cli(runtime, 'import', 'divisions', good);
    expect(ok.code).toBe(0);
    expect((await db.query(`SELECT name FROM divisions WHERE code = '513221002001'`))[0].name).toBe(
      '漩口村',
    );

    const bad = join(dir, 'grids.csv');
    writeFileSync(
      bad,
      'code,name,village\n513221002001001,第1网格,513221002001\n513221009001001,第1网格,513221009001\n',
    );
    const refused = await cli(runtime, 'import', 'grids', bad);
    expect(refused.code).toBe(1);
    expect(refused.out + refused.err).toMatch(/row 2/i);
    expect(refused.out + refused.err).toMatch(/village/);
    expect(
      (
        await db.query(`SELECT count(*)::int AS n FROM grids WHERE starts_with(code, '513221002')`)
      )[0].n,
    ).toBe(0);
  });
});
