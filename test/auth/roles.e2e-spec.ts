import { TOKEN_ROLES } from '../../src/common/auth/token-role';
import { startTestApp, type TestApp } from '../helpers/app';
import { collectRoutes, type RouteInfo } from '../helpers/routes';

/** Sample values for route parameters, chosen so that jurisdiction checks don't get in the way. */
const PARAMS: Record<string, string> = {
  id: '00000000-0000-4000-8000-000000000000',
  code: '513221001001001',
  kind: 'people',
};

function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_, name: string) => PARAMS[name] ?? 'x');
}

describe('role checks on every route', () => {
  let t: TestApp;
  let routes: RouteInfo[];

  beforeAll(async () => {
    // Two unauthenticated requests per route: more than the default failure limit per client.
    t = await startTestApp({ env: { RATE_LIMIT_FAILURES: '0' } });
    routes = collectRoutes(t.app);
  });
  afterAll(async () => {
    delete process.env.RATE_LIMIT_FAILURES;
    await t.close();
  });

  const send = (r: RouteInfo, token?: string) => {
    const req = t.http()[r.method](concrete(r.path));
    return token ? req.set('Authorization', `Bearer ${token}`) : req;
  };

  it('finds the routes, and every route is either public or names its roles', () => {
    expect(routes.length).toBeGreaterThan(5);
    const open = routes.filter((r) => !r.isPublic && r.roles.length === 0);
    expect(open).toEqual([]);
  });

  it('answers 401 without a token or with a bad one on every non-public route', async () => {
    for (const r of routes.filter((x) => !x.isPublic)) {
      const none = await send(r);
      expect({ route: `${r.method} ${r.path}`, status: none.status }).toEqual({
        route: `${r.method} ${r.path}`,
        status: 401,
      });
      const bad = await send(r, 'wgt_not-a-real-token');
      expect(bad.status).toBe(401);
    }
  });

  it('answers 403 to each role a route does not allow, and lets the allowed ones through', async () => {
    for (const r of routes.filter((x) => !x.isPublic)) {
      for (const role of TOKEN_ROLES) {
        const res = await send(r, t.tokens[role]);
        const label = `${r.method} ${r.path} as ${role}`;
        if (r.roles.includes(role)) {
          expect({
            label,
            status: [401, 403].includes(res.status) ? res.status : 'through',
          }).toEqual({
            label,
            status: 'through',
          });
        } else {
          expect({ label, status: res.status }).toEqual({ label, status: 403 });
        }
      }
    }
  });

  it('keeps public routes open', async () => {
    const health = await t.http().get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info.database.status).toBe('up');
    expect(health.body.info.redis.status).toBe('up');
    expect(health.body.info.queues.status).toBe('up');
    const metrics = await t.http().get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    const docs = await t.http().get('/docs-json');
    expect(docs.status).toBe(200);
    expect(Object.keys(docs.body.paths)).toContain('/v1/tokens');
  });

  it('refuses a revoked token', async () => {
    const created = await t
      .http()
      .post('/v1/tokens')
      .set('Authorization', `Bearer ${t.tokens.admin}`)
      .send({ name: 'temp auditor', role: 'auditor' });
    expect(created.status).toBe(201);
    const ok = await t
      .http()
      .get('/v1/directory/divisions')
      .set('Authorization', `Bearer ${created.body.token}`);
    expect(ok.status).toBe(200);
    const revoked = await t
      .http()
      .post(`/v1/tokens/${created.body.id}/revoke`)
      .set('Authorization', `Bearer ${t.tokens.admin}`);
    expect(revoked.status).toBe(200);
    const after = await t
      .http()
      .get('/v1/directory/divisions')
      .set('Authorization', `Bearer ${created.body.token}`);
    expect(after.status).toBe(401);
    // Revoked twice: one revocation, one audit event; the log never holds the token or its hash.
    const again = await t
      .http()
      .post(`/v1/tokens/${created.body.id}/revoke`)
      .set('Authorization', `Bearer ${t.tokens.admin}`);
    expect(again.status).toBe(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const events = await t.db.query(
      `SELECT action, data FROM audit_events WHERE subject_type = 'token' AND subject_id = $1 ORDER BY id`,
      [created.body.id],
    );
    expect(events).toEqual([
      { action: 'token.created', data: { role: 'auditor', jurisdiction: null, gridCode: null } },
      { action: 'token.revoked', data: { role: 'auditor' } },
    ]);
    expect(JSON.stringify(events)).not.toContain(created.body.token.slice(-20));
  });

  it('never returns a stored token hash, and validates token input naming the field', async () => {
    const list = await t.http().get('/v1/tokens').set('Authorization', `Bearer ${t.tokens.admin}`);
    expect(JSON.stringify(list.body)).not.toMatch(/tokenHash|token_hash/);
    const bad = await t
      .http()
      .post('/v1/tokens')
      .set('Authorization', `Bearer ${t.tokens.admin}`)
      .send({ name: 'x', role: 'duty_officer', jurisdiction: '999999' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([expect.objectContaining({ field: 'jurisdiction' })]);
  });

  it('keeps grid members inside their own grid', async () => {
    const own = await t
      .http()
      .get('/v1/directory/grids/513221001001001')
      .set('Authorization', `Bearer ${t.tokens.grid_member}`);
    expect(own.status).toBe(200);
    const other = await t
      .http()
      .get('/v1/directory/grids/513221001001002')
      .set('Authorization', `Bearer ${t.tokens.grid_member}`);
    expect(other.status).toBe(403);
  });
});
