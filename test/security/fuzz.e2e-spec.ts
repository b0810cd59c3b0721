import { createHmac } from 'node:crypto';
import type { Test } from 'supertest';
import twilio from 'twilio';
import type { TokenRole } from '../../src/common/auth/token-role';
import { startTestApp, type TestApp } from '../helpers/app';
import { collectRoutes } from '../helpers/routes';
import { PROVIDER_ENV, tableCounts } from './support';

/**
 * Issue 11, item 6: malformed requests over every route of the OpenAPI document and the webhook
 * and link routes, with valid tokens of the allowed roles (so that validation is reached, not
 * only the 401). Deterministic (seeded), bounded in count and time. Expects no answer ≥ 500, no
 * hang, and no change in the database. Every request is broken on purpose (one mutation that no
 * valid request has), so none may change anything.
 */
const SEED = 20261111;
const REQUESTS = 2400;
const CONCURRENCY = 8;
const TIMEOUT_MS = 5000;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    uuid: () =>
      'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () =>
        Math.floor(next() * 16).toString(16),
      ),
  };
}
type Rng = ReturnType<typeof prng>;

type Schema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  example?: unknown;
  allOf?: Schema[];
};
type OpenApi = {
  paths: Record<string, Record<string, OpenApiOp>>;
  components?: { schemas?: Record<string, Schema> };
};
type OpenApiOp = {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
};

interface Target {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path with :params. */
  path: string;
  params: string[];
  query: string[];
  roles: TokenRole[];
  isPublic: boolean;
  bodySchema?: Schema;
  bodyType?: string;
}

const DEEP = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;
const BAD_STRINGS = [
  'a\u0000b',
  '\u0000',
  'x\ud800y',
  '\udfff',
  '\ud83d',
  'x'.repeat(100_000),
  "'; DROP TABLE warnings; --",
  '${7*7}',
];
const WRONG_VALUES: unknown[] = [
  null,
  {},
  [],
  [null],
  [[]],
  true,
  0,
  -1,
  1e308,
  -1e308,
  2 ** 53 + 1,
  0.5,
  'x',
  '',
  { $gt: '' },
  { __proto__: { polluted: 1 } },
];
const BAD_IDS = [
  '%00',
  'x%00y',
  '%ED%A0%80',
  '%FF',
  '-'.repeat(36),
  'x'.repeat(300),
  '1%27%20OR%201=1',
  '..%2F..%2Fetc',
  '00000000-0000-4000-8000-00000000000g',
  '%F0%9F%98%80',
  '0',
  '-1',
  '1e308',
];

function resolve(doc: OpenApi, s: Schema | undefined): Schema {
  if (!s) return {};
  if (s.$ref) return resolve(doc, doc.components?.schemas?.[s.$ref.split('/').pop()!]);
  if (s.allOf) {
    const parts = s.allOf.map((p) => resolve(doc, p));
    return {
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
      required: parts.flatMap((p) => p.required ?? []),
    };
  }
  return s;
}

/** A plausible value of a schema (the starting point that each request then breaks). */
function sample(doc: OpenApi, schema: Schema | undefined, depth = 0): unknown {
  const s = resolve(doc, schema);
  if (s.example !== undefined) return s.example;
  if (s.enum?.length) return s.enum[0];
  if (depth > 4) return null;
  switch (s.type ?? '') {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) out[k] = sample(doc, v, depth + 1);
      return out;
    }
    case 'array':
      return [sample(doc, s.items, depth + 1)];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'string':
      return 'abc';
    default:
      return s.properties ? sample(doc, { ...s, type: 'object' }, depth) : 'abc';
  }
}

/** Paths into an object, for picking a field to break. */
function leafPaths(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  if (!entries.length) return [prefix];
  return [prefix, ...entries.flatMap(([k, x]) => leafPaths(x, [...prefix, k]))];
}

function setAt(root: unknown, path: string[], value: unknown): unknown {
  if (!path.length) return value;
  if (root === null || typeof root !== 'object') return { [path[0]]: value };
  const copy = structuredClone(root) as Record<string, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  cur[path[path.length - 1]] = value;
  return copy;
}

interface Built {
  label: string;
  method: Target['method'];
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** One malformed request to a documented route. */
function breakApiRoute(
  doc: OpenApi,
  t: Target,
  tokens: Record<TokenRole, string>,
  rng: Rng,
): Built {
  const role = t.roles.length ? rng.pick(t.roles) : undefined;
  const headers: Record<string, string> = role ? { Authorization: `Bearer ${tokens[role]}` } : {};
  let kinds = t.params.length ? ['bad-id', 'bad-query'] : ['bad-query'];
  if (t.method !== 'get' && t.method !== 'delete') {
    kinds = [
      'malformed-json',
      'wrong-type',
      'missing-required',
      'unknown-prop',
      'bad-string',
      'deep',
      'huge-number',
      'not-an-object',
      'wrong-content-type',
      ...(t.params.length ? ['bad-id'] : []),
    ];
  }
  const kind = rng.pick(kinds);
  // Ids: well-formed but unknown (nothing to change), or malformed.
  const idFor = () => (kind === 'bad-id' ? rng.pick(BAD_IDS) : rng.uuid());
  const pathValues: Record<string, string> = {
    kind: kind === 'bad-id' ? rng.pick(['x%00', 'nope', '%ED%A0%80', 'people%2F..']) : 'people',
    code: kind === 'bad-id' ? rng.pick(BAD_IDS) : '513221001001001',
  };
  const path = t.path.replace(/:(\w+)/g, (_, name: string) =>
    name in pathValues ? pathValues[name] : idFor(),
  );
  const query = new URLSearchParams();
  let rawQuery = '';
  if (kind === 'bad-query' || rng.next() < 0.3) {
    const names = [...t.query, 'limit', 'offset', 'state', 'groupBy', 'from', 'x\u0000'];
    const name = rng.pick(names);
    rawQuery = `${encodeURIComponent(name)}=${rng.pick([
      '%00',
      '%ED%A0%80',
      '1e308',
      '-1',
      '99999999999999999999',
      'NaN',
      '%FF',
      encodeURIComponent('x'.repeat(5000)),
      'a&' + name + '=b',
      '[object%20Object]',
    ])}`;
  }
  const url = `${path}${rawQuery ? `?${rawQuery}` : query.toString() ? `?${query}` : ''}`;
  if (t.method === 'get' || t.method === 'delete')
    return { label: kind, method: t.method, url, headers };

  const base = sample(doc, t.bodySchema);
  const schema = resolve(doc, t.bodySchema);
  let body: string;
  let type = 'application/json';
  switch (kind) {
    case 'malformed-json': {
      const text = JSON.stringify(base);
      body = rng.pick([
        text.slice(0, Math.max(1, rng.int(text.length))),
        '{"a":}',
        '{,}',
        text + '}',
        "{'single': 'quotes'}",
        '\u0000',
      ]);
      break;
    }
    case 'wrong-type':
    case 'missing-required': {
      const required = schema.required ?? [];
      if (!required.length || typeof base !== 'object' || base === null) {
        body = JSON.stringify({ ...(base as object), ['unknown\u0001']: 1 });
        break;
      }
      const field = rng.pick(required);
      const copy = { ...(base as Record<string, unknown>) };
      if (kind === 'missing-required') delete copy[field];
      else {
        const current = copy[field];
        let wrong: unknown;
        do wrong = rng.pick(WRONG_VALUES);
        while (typeof wrong === typeof current && Array.isArray(wrong) === Array.isArray(current));
        copy[field] = wrong;
      }
      body = JSON.stringify(copy);
      break;
    }
    case 'unknown-prop':
      body = JSON.stringify({
        ...(base as object),
        [rng.pick(['extra', '__proto__x', 'constructor', 'x\u0000'])]: rng.pick(WRONG_VALUES),
      });
      break;
    case 'bad-string': {
      const paths = leafPaths(base).filter((p) => p.length);
      const bad = rng.pick(BAD_STRINGS.slice(0, 5));
      body = JSON.stringify(paths.length ? setAt(base, rng.pick(paths), bad) : { [bad]: bad });
      break;
    }
    case 'deep': {
      // Built as text: too deep for JSON.stringify itself.
      const paths = leafPaths(base).filter((p) => p.length);
      const n = rng.pick([40, 500, 5000, 50_000]);
      const deep = '['.repeat(n) + ']'.repeat(n);
      body = paths.length
        ? JSON.stringify(setAt(base, rng.pick(paths), '__DEEP__')).replace('"__DEEP__"', deep)
        : deep;
      break;
    }
    case 'huge-number': {
      const paths = leafPaths(base).filter((p) => p.length);
      const target = paths.length ? rng.pick(paths) : ['x'];
      const marker = '"__HUGE__"';
      body = JSON.stringify(setAt(base, target, '__HUGE__')).replace(
        marker,
        rng.pick([
          '1e308',
          '-1e308',
          '1e400',
          '9007199254740993',
          '-0',
          '1.5',
          '123456789012345678901234567890',
        ]),
      );
      break;
    }
    case 'not-an-object':
      body = rng.pick(['"a string"', '[1,2,3]', 'null', '42', 'true', '[]']);
      break;
    case 'wrong-content-type':
      type = rng.pick([
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
        'text/csv',
        'application/json; charset=klingon',
      ]);
      body = rng.pick(['a=%00&b', '<x>\u0000</x>', 'kind,name\n\u0000,\ud800', '{"a":1}', '']);
      break;
    default:
      body = JSON.stringify(base);
  }
  // The file routes are fed only broken files (an accepted file would change the directory).
  if (t.bodyType && t.bodyType !== 'application/json') {
    type = t.bodyType;
    body = rng.pick([
      '\u0000',
      'x\ud800',
      '<alert>\u0000</alert>',
      'a,b\n\u0000',
      '{"a":',
      '<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>',
    ]);
  }
  return {
    label: kind,
    method: t.method,
    url,
    headers: { ...headers, 'Content-Type': type },
    body,
  };
}

/** One malformed request to a webhook or confirmation link (unsigned, or signed but broken). */
function breakPublicRoute(t: Target, baseUrl: string, rng: Rng): Built {
  const id = rng.next() < 0.5 ? rng.uuid() : rng.pick(BAD_IDS);
  const path = t.path.replace(/:(\w+)/g, () =>
    t.path.startsWith('/c/') ? rng.pick(['abc.def', 'x'.repeat(200), '%00', '..', id]) : id,
  );
  if (t.path.startsWith('/c/')) {
    const body = rng.pick([
      'answer=confirm',
      'answer=%00',
      'answer[]=x',
      '{"answer":"confirm"}',
      '',
    ]);
    return {
      label: 'link',
      method: t.method,
      url: path,
      headers: {
        'Content-Type': body.startsWith('{')
          ? 'application/json'
          : 'application/x-www-form-urlencoded',
      },
      body: t.method === 'post' ? body : undefined,
    };
  }
  if (t.path.startsWith('/webhooks/broadcast')) {
    const raw = rng.pick([
      '{}',
      '{"taskId":',
      '[]',
      '{"terminal":"\\u0000"}',
      JSON.stringify({ deep: DEEP(100) }),
      'null',
    ]);
    const signed = rng.next() < 0.5;
    const sig = signed
      ? createHmac('sha256', PROVIDER_ENV.BROADCAST_SECRET).update(raw).digest('hex')
      : rng.pick(['', 'zz', '0'.repeat(64)]);
    return {
      label: signed ? 'broadcast-signed' : 'broadcast-unsigned',
      method: t.method,
      url: path,
      headers: { 'Content-Type': 'application/json', 'X-Broadcast-Signature': sig },
      body: raw,
    };
  }
  // Twilio: parameters that miss what the route needs, or carry NUL / lone surrogates.
  const params = rng.pick<Record<string, string>>([
    {},
    { CallStatus: 'completed' },
    { CallSid: 'CA1', CallStatus: 'nonsense' },
    { MessageSid: 'SM1' },
    { MessageSid: 'SM1', MessageStatus: 'teleported' },
    { From: '+8613800000000', Body: '1' },
    { MessageSid: 'SM1', From: '\u0000', To: '+15005550006', Body: '1' },
    // (A lone surrogate cannot travel in a form: it arrives as U+FFFD, which is valid text.)
    { MessageSid: 'SM1', From: '+8613800000000', To: '+15005550006', Body: 'x\u0000' },
    { CallSid: 'CA\u0000', Digits: '1' },
  ]);
  const signed = rng.next() < 0.6;
  const sig = signed
    ? twilio.getExpectedTwilioSignature(PROVIDER_ENV.TWILIO_AUTH_TOKEN, `${baseUrl}${path}`, params)
    : rng.pick(['', 'forged', 'AAAA']);
  return {
    label: signed ? 'twilio-signed' : 'twilio-unsigned',
    method: t.method,
    url: path,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': sig },
    body: new URLSearchParams(params).toString(),
  };
}

describe('fuzz: malformed requests over every route', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { ...PROVIDER_ENV, RATE_LIMIT_FAILURES: '0', RATE_LIMIT_PUBLIC: '0' },
    });
  });
  afterAll(() => t.close());

  it(`answers ${REQUESTS} malformed requests with 4xx, in time, changing nothing`, async () => {
    const doc = (await t.http().get('/docs-json')).body as OpenApi;
    const known = collectRoutes(t.app);
    const targets: Target[] = [];
    for (const [oaPath, ops] of Object.entries(doc.paths)) {
      const path = oaPath.replace(/\{(\w+)\}/g, ':$1');
      for (const [method, op] of Object.entries(ops)) {
        const route = known.find((r) => r.method === method && r.path === path);
        const content = op.requestBody?.content ?? {};
        const bodyType = Object.keys(content)[0];
        targets.push({
          method: method as Target['method'],
          path,
          params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
          query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          roles: route?.roles ?? [],
          isPublic: route?.isPublic ?? false,
          bodySchema: bodyType ? content[bodyType].schema : undefined,
          bodyType,
        });
      }
    }
    const apiCount = targets.length;
    expect(apiCount).toBeGreaterThan(20);
    // The routes the document leaves out: provider webhooks and confirmation links.
    for (const r of known) {
      if (r.path.startsWith('/webhooks/') || r.path.startsWith('/c/')) {
        targets.push({ ...r, params: [], query: [] });
      }
    }
    expect(targets.length - apiCount).toBeGreaterThanOrEqual(8);

    const rng = prng(SEED);
    const requests: Built[] = Array.from({ length: REQUESTS }, (_, i) => {
      const target = targets[i % targets.length];
      return target.path.startsWith('/webhooks/') || target.path.startsWith('/c/')
        ? breakPublicRoute(target, t.baseUrl, rng)
        : breakApiRoute(doc, target, t.tokens, rng);
    });

    const before = await tableCounts(t.db);
    const problems: { req: string; status: number | string; body?: string }[] = [];
    const byStatus = new Map<number, number>();
    const accepted: { req: string; status: number }[] = [];
    let cursor = 0;
    const worker = async () => {
      while (cursor < requests.length) {
        const r = requests[cursor++];
        let req: Test = t
          .http()
          [r.method](r.url)
          .timeout({ response: TIMEOUT_MS, deadline: TIMEOUT_MS });
        for (const [k, v] of Object.entries(r.headers)) req = req.set(k, v);
        try {
          const res = await (r.body !== undefined ? req.send(r.body) : req);
          byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
          // Reads may well answer 200 (a query parameter the route does not take is ignored).
          if (res.status < 400 && r.method !== 'get') {
            accepted.push({
              req: `${r.method} ${r.url} [${r.label}] ${(r.body ?? '').slice(0, 300)}`,
              status: res.status,
            });
          }
          if (res.status >= 500) {
            problems.push({
              req: `${r.method} ${r.url} [${r.label}]`,
              status: res.status,
              body: res.text.slice(0, 200),
            });
          }
        } catch (err) {
          problems.push({
            req: `${r.method} ${r.url.slice(0, 200)} [${r.label}]`,
            status: `no answer: ${(err as Error).message}`,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(problems).toEqual([]);
    expect([...byStatus.values()].reduce((a, b) => a + b, 0)).toBe(REQUESTS);
    // Broken on purpose: no change is accepted.
    expect(accepted).toEqual([]);
    expect(await tableCounts(t.db)).toEqual(before);
  });
});
