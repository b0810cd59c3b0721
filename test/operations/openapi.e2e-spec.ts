import SwaggerParser from '@apidevtools/swagger-parser';
import { startTestApp, type TestApp } from '../helpers/app';
import { collectRoutes, type RouteInfo } from '../helpers/routes';

interface Operation {
  summary?: string;
  operationId?: string;
  security?: Record<string, string[]>[];
  responses: Record<
    string,
    { $ref?: string; content?: Record<string, { schema?: Record<string, unknown> }> }
  >;
}
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

/** Files, not JSON: each with its content type declared. */
const DOWNLOADS = [
  'text/csv; charset=utf-8',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/xml',
  'text/event-stream',
];
const ERROR_REF = '#/components/schemas/ApiErrorBody';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document (/docs-json): enough to generate a client', () => {
  let t: TestApp;
  let doc: Doc;
  let routes: RouteInfo[];
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
    );

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http().get('/docs-json');
    expect(res.status).toBe(200);
    doc = res.body as Doc;
    routes = collectRoutes(t.app);
  });
  afterAll(() => t?.close());

  it('is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    // swagger-parser validates against the OpenAPI schema and resolves every $ref.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    const yaml = await t.http().get('/docs-yaml');
    expect(yaml.status).toBe(200);
  });

  it('documents every API route of the app, each operation with a summary and a unique id', () => {
    const ops = operations();
    const documented = new Set(ops.map((o) => o.key));
    const expected = routes
      // Left out on purpose: provider webhooks, confirmation links, the console page, /metrics.
      .filter((r) => !/^\/(webhooks|c|console|metrics)(\/|$)/.test(r.path))
      .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    expect(expected.filter((k) => !documented.has(k))).toEqual([]);
    expect(ops.filter((o) => !o.op.summary?.trim()).map((o) => o.key)).toEqual([]);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every operation a typed 2xx response, or a declared file type', () => {
    const problems: string[] = [];
    for (const { key, op } of operations()) {
      const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      if (!ok.length) {
        problems.push(`${key}: no 2xx response`);
        continue;
      }
      for (const [status, response] of ok) {
        if (status === '204') {
          if (response.content) problems.push(`${key}: 204 with a body`);
          continue;
        }
        const content = response.content ?? {};
        const json = content['application/json']?.schema;
        const files = Object.keys(content).filter((type) => DOWNLOADS.includes(type));
        if (json) {
          const typed =
            typeof json.$ref === 'string' ||
            typeof json.type === 'string' ||
            Array.isArray(json.allOf) ||
            Array.isArray(json.oneOf);
          if (!typed) problems.push(`${key}: ${status} JSON without a type`);
          if (json.type === 'array' && !(json.items as { $ref?: string; type?: string })) {
            problems.push(`${key}: ${status} array without items`);
          }
          if (json.type === 'object' && !json.properties && !json.additionalProperties) {
            problems.push(`${key}: ${status} object without properties`);
          }
        } else if (!files.length) {
          problems.push(`${key}: ${status} neither JSON nor a declared file type`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('requires the bearer token exactly where the route does, and references the error schema', () => {
    expect(Object.keys(doc.components.securitySchemes)).toContain('bearer');
    const byKey = new Map(
      routes.map((r) => [
        `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`,
        r,
      ]),
    );
    const problems: string[] = [];
    for (const { key, op } of operations()) {
      const route = byKey.get(key);
      if (!route) continue;
      const bearer = (op.security ?? []).some((s) => 'bearer' in s);
      if (!route.isPublic && !bearer) problems.push(`${key}: needs a token, no bearer security`);
      if (route.isPublic && bearer) problems.push(`${key}: public, yet bearer security`);
      const errors = Object.entries(op.responses).filter(([status]) => /^[45]\d\d$/.test(status));
      if (!errors.length) problems.push(`${key}: no error response`);
      for (const [status, response] of errors) {
        const schema = response.content?.['application/json']?.schema;
        // /health answers 503 with its own body (which parts are down).
        const expected =
          key === 'GET /health' && status === '503' ? '#/components/schemas/HealthView' : ERROR_REF;
        if (schema?.$ref !== expected) problems.push(`${key}: ${status} without ${expected}`);
      }
      if (!route.isPublic) {
        for (const status of ['401', '403'])
          if (!op.responses[status]) problems.push(`${key}: no ${status}`);
      }
    }
    expect(problems).toEqual([]);
    expect(doc.components.schemas.ApiErrorBody).toBeDefined();
  });

  it('declares every property of every schema with a type or a reference', () => {
    const problems: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas) as [
      string,
      { properties?: Record<string, Record<string, unknown>> },
    ][]) {
      for (const [prop, s] of Object.entries(schema.properties ?? {})) {
        if (!s.type && !s.$ref && !s.allOf && !s.oneOf && !s.enum) problems.push(`${name}.${prop}`);
        if (s.type === 'array' && !s.items) problems.push(`${name}.${prop}[]`);
      }
    }
    expect(problems).toEqual([]);
  });
});
