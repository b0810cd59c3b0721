import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { createHttpApp } from '../../src/app.setup';
import { ALL_QUEUES } from '../../src/common/queue/queue-names';
import type { GatewayRuntime } from '../../src/common/runtime.token';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { TokensService } from '../../src/modules/auth/tokens.service';
import { DashboardCredentials } from '../../src/modules/operations/queue-dashboard.session';
import { startTestApp, type TestApp } from '../helpers/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const APP_SECRET = 'queue-dashboard-e2e'.padEnd(40, 'q');

/** `name=value` of a Set-Cookie header, for sending it back. */
function cookieOf(res: request.Response): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  expect(set).toHaveLength(1);
  return set[0].split(';')[0];
}

describe('queue dashboard (/admin/queues, bull-board) on Redis', () => {
  let t: TestApp;
  const bearer = (role: keyof TestApp['tokens']) => ({
    Authorization: `Bearer ${t.tokens[role]}`,
  });

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('shows admins the dashboard and every queue of the gateway', async () => {
    const page = await t.http().get('/admin/queues').set(bearer('admin'));
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<div id="root"');
    const api = await t.http().get('/admin/queues/api/queues').set(bearer('admin'));
    expect(api.status).toBe(200);
    const names = (api.body.queues as { name: string }[]).map((q) => q.name).sort();
    expect(names).toEqual([...ALL_QUEUES].sort());
    for (const q of api.body.queues as { readOnlyMode: boolean; counts: object }[]) {
      expect(q.readOnlyMode).toBe(true);
      expect(q.counts).toBeDefined();
    }
  });

  it('refuses other roles (403) and no or a bad token (401) on the page and its API', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      for (const role of ['duty_officer', 'auditor', 'grid_member'] as const) {
        const res = await t.http().get(path).set(bearer(role));
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('FORBIDDEN');
      }
      const none = await t.http().get(path);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('UNAUTHENTICATED');
      expect(none.text).not.toContain('<div id="root"');
      expect((await t.http().get(path).set({ Authorization: 'Bearer wgt_nope' })).status).toBe(401);
    }
    // Read-only: no pausing, emptying or adding jobs, even for admins.
    const pause = await t
      .http()
      .put('/admin/queues/api/queues/send-sms/pause')
      .set(bearer('admin'));
    expect(pause.status).toBeGreaterThanOrEqual(400);
  });

  it('lets a browser in with a one-minute ticket traded for an HttpOnly cookie', async () => {
    for (const role of ['duty_officer', 'auditor', 'grid_member'] as const) {
      expect(
        (await t.http().post('/v1/admin/queue-dashboard/session').set(bearer(role))).status,
      ).toBe(403);
    }
    expect((await t.http().post('/v1/admin/queue-dashboard/session')).status).toBe(401);
    const session = await t.http().post('/v1/admin/queue-dashboard/session').set(bearer('admin'));
    expect(session.status).toBe(201);
    expect(session.body.url).toMatch(/^\/admin\/queues\?ticket=/);
    const set = String(session.headers['set-cookie']);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Path=\/admin\/queues/);

    const open = await t.http().get(session.body.url);
    expect(open.status).toBe(303);
    expect(open.headers.location).toBe('/admin/queues');
    const cookie = cookieOf(open);
    const page = await t.http().get('/admin/queues').set('Cookie', cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root"');
    // The page's script loads with the same cookie.
    const script = /<script[^>]+src="([^"]+)"/.exec(page.text)?.[1];
    expect(script).toMatch(/^static\//);
    const js = await t.http().get(`/admin/queues/${script}`).set('Cookie', cookie);
    expect(js.status).toBe(200);
    expect((await t.http().get(`/admin/queues/${script}`)).status).toBe(401);
    const api = await t.http().get('/admin/queues/api/queues').set('Cookie', cookie);
    expect(api.status).toBe(200);
    expect(api.body.queues).toHaveLength(ALL_QUEUES.length);

    // The cookie of the session response works as well (same-origin callers).
    expect(
      (await t.http().get('/admin/queues/api/queues').set('Cookie', cookieOf(session))).status,
    ).toBe(200);
    // Forged, tampered, expired, or a ticket used as a cookie: refused.
    const creds = new DashboardCredentials(APP_SECRET);
    const forged = new DashboardCredentials('another-secret'.padEnd(40, 'x')).issue(
      '00000000-0000-4000-8000-000000000000',
      'session',
    );
    const ticketValue = decodeURIComponent(session.body.url.split('ticket=')[1]);
    const tampered = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const [adminId] = (await t.app.get(TokensService).list())
      .filter((x) => x.role === 'admin')
      .map((x) => x.id);
    const expired = creds.issue(adminId, 'session', Date.now() - 31 * 60_000);
    for (const bad of [
      `wg_queue_dashboard=${forged.value}`,
      tampered,
      `wg_queue_dashboard=${ticketValue}`,
      `wg_queue_dashboard=${expired.value}`,
    ]) {
      expect((await t.http().get('/admin/queues/api/queues').set('Cookie', bad)).status).toBe(401);
    }
    expect((await t.http().get('/admin/queues?ticket=nope')).status).toBe(401);
    expect(
      (
        await t
          .http()
          .get(`/admin/queues?ticket=${creds.issue(adminId, 'ticket', Date.now() - 61_000).value}`)
      ).status,
    ).toBe(401);
  });

  it('ends the session when the admin token is revoked', async () => {
    const svc = t.app.get(TokensService);
    const { token, record } = await svc.create({ name: 'short-lived admin', role: 'admin' });
    const session = await t
      .http()
      .post('/v1/admin/queue-dashboard/session')
      .set({ Authorization: `Bearer ${token}` });
    const cookie = cookieOf(session);
    expect((await t.http().get('/admin/queues/api/queues').set('Cookie', cookie)).status).toBe(200);
    await svc.revoke(record.id);
    expect((await t.http().get('/admin/queues/api/queues').set('Cookie', cookie)).status).toBe(401);
  });
});

describe('queue dashboard on the Postgres queue backend (the embedded default)', () => {
  let database: TestDatabase;
  let app: NestExpressApplication;
  let admin: string;
  let auditor: string;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    process.env.LOG_LEVEL ??= 'warn';
    database = await createTestDatabase('dashboard_pg');
    process.env.DATABASE_URL = database.url;
    const migrator = new DataSource(buildDataSourceOptions(database.url));
    await migrator.initialize();
    await runMigrations(migrator);
    await migrator.destroy();
    const runtime: GatewayRuntime = {
      role: 'api',
      databaseUrl: database.url,
      queue: { backend: 'postgres', connectionString: database.url },
      embedded: { postgres: false, redis: false },
    };
    app = await createHttpApp(AppModule.register(runtime));
    await app.init();
    const tokens = app.get(TokensService);
    admin = (await tokens.create({ name: 'admin', role: 'admin' })).token;
    auditor = (await tokens.create({ name: 'auditor', role: 'auditor' })).token;
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('lists every queue with its counts for admins, and refuses others', async () => {
    const http = () => request(app.getHttpServer());
    const api = await http()
      .get('/admin/queues/api/queues')
      .set({ Authorization: `Bearer ${admin}` });
    expect(api.status).toBe(200);
    expect((api.body.queues as { name: string }[]).map((q) => q.name).sort()).toEqual(
      [...ALL_QUEUES].sort(),
    );
    const page = await http()
      .get('/admin/queues')
      .set({ Authorization: `Bearer ${admin}` });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root"');
    expect(
      (
        await http()
          .get('/admin/queues/api/queues')
          .set({ Authorization: `Bearer ${auditor}` })
      ).status,
    ).toBe(403);
    expect((await http().get('/admin/queues/api/queues')).status).toBe(401);
  });
});
