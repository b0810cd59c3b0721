import type { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSandbox } from '../bootstrap/sandbox';
import type { GatewayRuntime } from '../common/runtime.token';
import type { EnvironmentVariables } from '../config/env.validation';
import { TokensService } from '../modules/auth/tokens.service';
import type { TokenRole } from '../common/auth/token-role';
import { SeedService } from '../modules/directory/seed/seed.service';
import { CreateWarningDto } from '../modules/warnings/dto/create-warning.dto';
import { WarningsService } from '../modules/warnings/warnings.service';

type DemoTokens = Partial<Record<TokenRole, string>>;

const say = (msg: string) => process.stderr.write(`${msg}\n`);

/** The demo runs on a zero-setup start (embedded Postgres) or when DEMO=on. */
export function demoEnabled(env: EnvironmentVariables, runtime: GatewayRuntime): boolean {
  return env.DEMO === 'on' || (env.DEMO === 'auto' && runtime.embedded.postgres);
}

/**
 * First start of a demo: seed a synthetic county and make one token per role. Every demo start
 * prints the URLs and those tokens (kept in the data folder, readable by its owner only).
 */
export async function runDemo(
  app: INestApplicationContext,
  env: EnvironmentVariables,
  runtime: GatewayRuntime,
  sandbox?: RunningSandbox,
): Promise<void> {
  const base = env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`;
  if (!demoEnabled(env, runtime)) {
    say(`[gateway] listening on ${base} (docs: ${base}/docs)`);
    return;
  }
  const db = app.get(DataSource);
  const [{ count }] = await db.query<{ count: number }[]>(
    'SELECT count(*)::int AS count FROM people',
  );
  if (count === 0) {
    say(
      `[gateway] first start: seeding demo county ${env.DEMO_COUNTY} with ${env.DEMO_RESIDENTS} residents…`,
    );
    await app.get(SeedService).seedCounty({
      countyCode: env.DEMO_COUNTY,
      residents: env.DEMO_RESIDENTS,
      seed: 1,
    });
  }
  const tokens = await ensureDemoTokens(app, env);
  const demoWarning =
    count === 0 && tokens.duty_officer
      ? await issueDemoWarning(app, env, tokens.duty_officer)
      : undefined;

  say('');
  say('  预警叫应网关 Warning gateway — demo');
  say(`  API      ${base}/v1`);
  say(`  Console  ${base}/console`);
  say(`  Docs     ${base}/docs`);
  say(`  Health   ${base}/health`);
  say(`  Metrics  ${base}/metrics`);
  if (sandbox)
    say(
      `  Sandbox  ${sandbox.carrier.baseUrl}/sandbox/events  (simulated carriers and people; mail at /sandbox/mail)`,
    );
  say(
    `  Queue backend: ${runtime.queue.backend}${runtime.embedded.postgres ? ' (embedded Postgres)' : ''}`,
  );
  say('  Demo tokens (Authorization: Bearer <token>):');
  for (const [role, token] of Object.entries(tokens)) say(`    ${role.padEnd(13)} ${token}`);
  if (demoWarning) {
    say('');
    say(
      `  Demo warning ${demoWarning.nationalId} issued to ${demoWarning.recipients} people. Watch it land:`,
    );
    say(
      `    curl -H "Authorization: Bearer ${tokens.auditor}" ${base}/v1/warnings/${demoWarning.id}`,
    );
    watchDemoWarning(app, demoWarning.id);
  }
  say('');
}

/** First start: an orange risk warning for the demo county's first township, as a duty officer would issue it. */
async function issueDemoWarning(
  app: INestApplicationContext,
  env: EnvironmentVariables,
  dutyToken: string,
) {
  const principal = await app.get(TokensService).authenticate(dutyToken);
  const db = app.get(DataSource);
  const [township] = await db.query<{ code: string; name: string }[]>(
    `SELECT code, name FROM divisions WHERE level = 'township' AND starts_with(code, $1) ORDER BY code LIMIT 1`,
    [env.DEMO_COUNTY],
  );
  if (!principal || !township) return undefined;
  const now = Date.now();
  const res = await app.get(WarningsService).issue(
    principal,
    Object.assign(new CreateWarningDto(), {
      kind: 'meteorological_risk' as const,
      level: 'orange' as const,
      hazard: 'landslide' as const,
      status: 'exercise' as const,
      headline: `${township.name}地质灾害气象风险橙色预警（演练）`,
      description: `受持续强降雨影响，未来24小时${township.name}发生滑坡、崩塌、泥石流等地质灾害的风险高。`,
      instruction: '请各级责任人立即上岗到位，加强隐患点巡查，做好人员转移准备。',
      areas: [township.code],
      effective: new Date(now).toISOString(),
      expires: new Date(now + 24 * 3600_000).toISOString(),
    }),
  );
  return res.body as { id: string; nationalId: string; recipients: number };
}

/** Prints how the demo warning lands for its first two minutes: the 叫应 at work. */
function watchDemoWarning(app: INestApplicationContext, warningId: string): void {
  const db = app.get(DataSource);
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (ticks > 12) return clearInterval(timer);
    db.query<{ state: string; n: number }[]>(
      `SELECT state, count(*)::int AS n FROM deliveries WHERE warning_id = $1 GROUP BY state ORDER BY state`,
      [warningId],
    )
      .then((rows) =>
        say(
          `[demo] warning ${warningId.slice(0, 8)}: ${rows.map((r) => `${r.state} ${r.n}`).join(', ') || 'fanning out…'}`,
        ),
      )
      .catch(() => clearInterval(timer));
  }, 10_000);
  timer.unref();
}

async function ensureDemoTokens(
  app: INestApplicationContext,
  env: EnvironmentVariables,
): Promise<DemoTokens> {
  const file = join(env.DATA_DIR, 'demo-tokens.json');
  const tokensService = app.get(TokensService);
  const stored: DemoTokens = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as DemoTokens)
    : {};
  const db = app.get(DataSource);
  const [grid] = await db.query<{ code: string }[]>(
    `SELECT code FROM grids WHERE starts_with(code, $1) ORDER BY code LIMIT 1`,
    [env.DEMO_COUNTY],
  );
  const wanted: { role: TokenRole; jurisdiction?: string; gridCode?: string }[] = [
    { role: 'admin' },
    { role: 'duty_officer', jurisdiction: env.DEMO_COUNTY },
    { role: 'auditor' },
    ...(grid ? [{ role: 'grid_member' as const, gridCode: grid.code }] : []),
  ];
  const tokens: DemoTokens = {};
  for (const w of wanted) {
    const existing = stored[w.role];
    if (existing && (await tokensService.authenticate(existing))) {
      tokens[w.role] = existing;
      continue;
    }
    const { token } = await tokensService.create({ name: `demo ${w.role}`, ...w });
    tokens[w.role] = token;
  }
  writeFileSync(file, JSON.stringify(tokens, null, 2), { mode: 0o600 });
  return tokens;
}
