import type { Response } from 'supertest';
import { startTestApp, type TestApp } from '../helpers/app';
import { imminentWarning } from '../helpers/warning-bodies';
import { PROVIDER_ENV, signedTwilio, tableCounts } from './support';

/**
 * Issue 11, item 6: bad input is a 4xx naming the field, in the gateway's JSON error shape
 * (code, Chinese message, English messageEn, fields[]), changes nothing, and is never a 500.
 */
describe('bad input gets a 4xx naming the field and changes nothing', () => {
  let t: TestApp;
  let before: Record<string, number>;
  const as = (role: keyof TestApp['tokens']) => ({ Authorization: `Bearer ${t.tokens[role]}` });

  const policy = (overrides: Record<string, unknown> = {}) => ({
    name: 'security-test policy',
    kinds: [],
    levels: ['red'],
    statuses: [],
    roles: ['grid_leader'],
    rank: 50,
    steps: [{ channels: ['sms'], waitSeconds: 60 }],
    onExhausted: { notWoken: true, supervisor: false, doorToDoor: false },
    reachDeadlineSeconds: 300,
    ...overrides,
  });

  /** The documented shape of a refusal, naming `field` (exactly, or as the start of the path). */
  const expectRefused = (res: Response, status: number, code: string, field?: string) => {
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(typeof res.body.error.message).toBe('string');
    expect(res.body.error.message).toMatch(/[\u4e00-\u9fff]/); // Chinese
    expect(typeof res.body.error.messageEn).toBe('string');
    if (field !== undefined) {
      const fields = (res.body.error.fields ?? []).map((f: { field: string }) => f.field);
      expect(fields.some((f: string) => f === field || f.startsWith(`${field}.`))).toBe(true);
    }
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { ...PROVIDER_ENV } });
    before = await tableCounts(t.db);
  });
  afterAll(() => t.close());

  it('refuses deeply nested JSON with 400 naming the field', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = await t
      .http()
      .post('/v1/escalation-policies')
      .set(as('admin'))
      .set('Content-Type', 'application/json')
      .send(`{"name":${deep}}`);
    expectRefused(res, 400, 'VALIDATION_FAILED', 'name');
    const nested = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .send(imminentWarning({ impact: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }));
    expectRefused(nested, 400, 'VALIDATION_FAILED', 'impact');
  });

  it('answers 413 in the JSON error shape for a JSON body over the limit', async () => {
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .send(imminentWarning({ description: 'x'.repeat(6 * 1024 * 1024) }));
    expectRefused(res, 413, 'PAYLOAD_TOO_LARGE', 'body');
  });

  it.each([
    ['NUL', 'headline', '\u0000'],
    ['lone surrogate', 'description', '\ud800'],
    ['lone low surrogate', 'instruction', 'a\udc00b'],
  ])('refuses %s in a body string (%s) with 400 naming it', async (_, field, bad) => {
    // Written by hand: the escape must reach the server as JSON text (\u0000, \ud800).
    const json = JSON.stringify(imminentWarning({ [field]: `abc${bad}` }));
    const res = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .set('Content-Type', 'application/json')
      .send(json);
    expectRefused(res, 400, 'VALIDATION_FAILED', field);
  });

  it('refuses NUL and lone surrogates in keys, nested strings, array items, query and path', async () => {
    const key = await t
      .http()
      .post('/v1/escalation-policies')
      .set(as('admin'))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ ...policy(), 'x\u0000': 1 }));
    expectRefused(key, 400, 'VALIDATION_FAILED', 'x\u0000');
    const item = await t
      .http()
      .post('/v1/directory/targeting/preview')
      .set(as('duty_officer'))
      .set('Content-Type', 'application/json')
      .send('{"hazardPoints":["HP-1","\\ud800"]}');
    expectRefused(item, 400, 'VALIDATION_FAILED', 'hazardPoints.1');
    const query = await t.http().get('/v1/directory/divisions?parent=51%00').set(as('admin'));
    expectRefused(query, 400, 'VALIDATION_FAILED', 'parent');
    const reportQuery = await t.http().get('/v1/reports/period?groupBy=%00').set(as('auditor'));
    expectRefused(reportQuery, 400, 'VALIDATION_FAILED', 'groupBy');
    const person = await t.http().get('/v1/directory/people/abc%00').set(as('admin'));
    expectRefused(person, 400, 'VALIDATION_FAILED', 'id');
    const grid = await t.http().get('/v1/directory/grids/%00').set(as('admin'));
    expectRefused(grid, 400, 'VALIDATION_FAILED', 'code');
    // A lone surrogate cannot even be percent-encoded as UTF-8: the path is refused.
    const path = await t.http().get('/v1/directory/people/%ED%A0%80').set(as('admin'));
    expectRefused(path, 400, 'BAD_REQUEST', 'path');
    const note = await t
      .http()
      .post('/v1/tasks/00000000-0000-4000-8000-000000000000/complete')
      .set(as('grid_member'))
      .send({ outcome: 'evacuated', note: 'x\u0000' });
    expectRefused(note, 400, 'VALIDATION_FAILED', 'note');
    // The API reads JSON: a form is refused as such, naming the content type.
    const form = await t
      .http()
      .post('/v1/tasks/00000000-0000-4000-8000-000000000000/complete')
      .set(as('grid_member'))
      .type('form')
      .send('outcome=evacuated&note=%00');
    expectRefused(form, 415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type');
    const csv = await t
      .http()
      .post('/v1/directory/imports/people')
      .set(as('admin'))
      .set('Content-Type', 'text/csv')
      .send('external_id,name\nP1,a\u0000b\n');
    expectRefused(csv, 400, 'VALIDATION_FAILED', 'body');
  });

  it('refuses numbers out of range and required nested objects that are null', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ rank: 1e308 }, 'rank'],
      [{ reachDeadlineSeconds: 1e308 }, 'reachDeadlineSeconds'],
      [{ groupRuleSeconds: 1e308 }, 'groupRuleSeconds'],
      [{ steps: [{ channels: ['sms'], waitSeconds: 1e308 }] }, 'steps.0.waitSeconds'],
      [{ onExhausted: null }, 'onExhausted'],
      [{ onExhausted: [] }, 'onExhausted'],
      [{ steps: [[]] }, 'steps'],
      [
        { steps: [{ channels: ['sms'], waitSeconds: 60, voiceRetries: [] }] },
        'steps.0.voiceRetries',
      ],
      [{ steps: null }, 'steps'],
      [{ steps: [null] }, 'steps.0'],
      [{ rank: '1' }, 'rank'],
    ];
    for (const [overrides, field] of cases) {
      const res = await t
        .http()
        .post('/v1/escalation-policies')
        .set(as('admin'))
        .send(policy(overrides));
      expectRefused(res, 400, 'VALIDATION_FAILED', field);
    }
    const impact = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .send(imminentWarning({ impact: { people: 1e308, households: 1 } }));
    expectRefused(impact, 400, 'VALIDATION_FAILED', 'impact.people');
    const impactArray = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .send(imminentWarning({ impact: [] }));
    expectRefused(impactArray, 400, 'VALIDATION_FAILED', 'impact');
    // 1e400 is Infinity once parsed.
    const inf = await t
      .http()
      .post('/v1/escalation-policies')
      .set(as('admin'))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(policy()).replace('"rank":50', '"rank":1e400'));
    expectRefused(inf, 400, 'VALIDATION_FAILED', 'rank');
  });

  it('refuses limit and offset out of bounds with 400 (never clamped, never a 500)', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const cases: [string, 'duty_officer' | 'auditor', string][] = [
      ['/v1/warnings?offset=100000000000000000000', 'duty_officer', 'offset'],
      ['/v1/warnings?offset=1e20', 'duty_officer', 'offset'],
      ['/v1/warnings?limit=99999999999', 'duty_officer', 'limit'],
      ['/v1/warnings?limit=0', 'duty_officer', 'limit'],
      ['/v1/warnings?offset=-1', 'duty_officer', 'offset'],
      [`/v1/warnings/${id}/responses?offset=9999999999999`, 'duty_officer', 'offset'],
      [`/v1/warnings/${id}/chains?offset=1e300`, 'auditor', 'offset'],
      ['/v1/audit/events?offset=99999999999', 'auditor', 'offset'],
      ['/v1/audit/events?limit=1e9', 'auditor', 'limit'],
    ];
    for (const [path, role, field] of cases) {
      const res = await t.http().get(path).set(as(role));
      expectRefused(res, 400, 'VALIDATION_FAILED', field);
    }
    const ok = await t.http().get('/v1/warnings?limit=500&offset=2147483647').set(as('auditor'));
    expect(ok.status).toBe(200);
  });

  it('refuses %00 and other malformed ids with 400 naming the parameter', async () => {
    type Method = 'get' | 'post' | 'put' | 'delete';
    const cases: [Method, string, keyof TestApp['tokens'], string][] = [
      ['get', '/v1/warnings/%00', 'auditor', 'id'],
      ['get', `/v1/warnings/${'-'.repeat(36)}`, 'auditor', 'id'],
      ['get', '/v1/warnings/x%00/cap', 'auditor', 'id'],
      ['get', '/v1/warnings/nope/responses', 'auditor', 'id'],
      ['get', `/v1/warnings/${'-'.repeat(36)}/chains`, 'auditor', 'id'],
      [
        'get',
        '/v1/warnings/00000000-0000-4000-8000-000000000000/chains/%00',
        'auditor',
        'personId',
      ],
      ['get', '/v1/reports/warnings/%00', 'auditor', 'id'],
      ['post', '/v1/tokens/%00/revoke', 'admin', 'id'],
      ['put', '/v1/escalation-policies/%00', 'admin', 'id'],
      ['delete', '/v1/escalation-policies/1%27%20or%201=1', 'admin', 'id'],
      ['post', '/v1/warnings/%00/cancel', 'duty_officer', 'id'],
      ['post', '/v1/warnings/%00/updates', 'duty_officer', 'id'],
      ['post', '/v1/tasks/%00/complete', 'grid_member', 'id'],
      ['get', '/v1/console/warnings/%00/stream', 'auditor', 'id'],
    ];
    for (const [method, path, role, field] of cases) {
      const res = await t
        .http()
        [method](path)
        .set(as(role))
        .send(method === 'put' ? policy() : {});
      expectRefused(res, 400, 'VALIDATION_FAILED', field);
    }
  });

  it('answers a signed Twilio webhook missing a required field with 400 naming it', async () => {
    const attempt = '00000000-0000-4000-8000-000000000001';
    const cases: [string, Record<string, string>, string][] = [
      [`/webhooks/twilio/voice/${attempt}/status`, { CallStatus: 'completed' }, 'CallSid'],
      [
        `/webhooks/twilio/voice/${attempt}/status`,
        { CallSid: 'CA1', CallStatus: 'x' },
        'CallStatus',
      ],
      [`/webhooks/twilio/voice/${attempt}/gather`, { Digits: '1' }, 'CallSid'],
      ['/webhooks/twilio/sms/status', { MessageSid: 'SM1' }, 'SmsStatus'],
      [`/webhooks/twilio/sms/${attempt}/status`, { MessageStatus: 'delivered' }, 'SmsSid'],
      ['/webhooks/twilio/sms', { MessageSid: 'SM1', To: '+15005550006', Body: '1' }, 'From'],
      ['/webhooks/twilio/sms', { MessageSid: 'SM1', From: '+8613800000000', Body: '1' }, 'To'],
    ];
    for (const [path, params, field] of cases) {
      const res = await signedTwilio(t, path, params);
      expectRefused(res, 400, 'VALIDATION_FAILED', field);
    }
    // Unsigned: 403 as before, whatever is missing.
    const unsigned = await t
      .http()
      .post(`/webhooks/twilio/voice/${attempt}/status`)
      .type('form')
      .send({ CallStatus: 'completed' });
    expectRefused(unsigned, 403, 'INVALID_SIGNATURE');
  });

  it('refuses malformed JSON, wrong content types and bodies of the wrong shape with 4xx', async () => {
    const bad = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .set('Content-Type', 'application/json')
      .send('{"kind": ');
    expectRefused(bad, 400, 'VALIDATION_FAILED', 'body');
    const charset = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .set('Content-Type', 'application/json; charset=klingon')
      .send('{}');
    expectRefused(charset, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const encoding = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'x-unknown')
      .send('{}');
    expectRefused(encoding, 415, 'UNSUPPORTED_MEDIA_TYPE');
    for (const body of ['"a string"', '[1,2]', 'null', '42']) {
      const res = await t
        .http()
        .post('/v1/escalation-policies')
        .set(as('admin'))
        .set('Content-Type', 'application/json')
        .send(body);
      expect(res.status).toBe(400);
    }
    const text = await t
      .http()
      .post('/v1/warnings')
      .set(as('duty_officer'))
      .set('Content-Type', 'text/plain')
      .send('kind=imminent');
    expectRefused(text, 415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type');
    // A route that takes no body does not take one of another type either (it would be ignored).
    const session = await t
      .http()
      .post('/v1/admin/queue-dashboard/session')
      .set(as('admin'))
      .set('Content-Type', 'text/plain')
      .send('a=%00&b');
    expectRefused(session, 415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type');
  });

  it('changed nothing in the database', async () => {
    expect(await tableCounts(t.db)).toEqual(before);
  });
});
