import { AuditService } from '../../src/modules/audit/audit.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'audit-e2e-secret'.padEnd(40, 'a');

interface EventView {
  id: string;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  warningId: string | null;
  data: Record<string, unknown>;
  prevHash: string | null;
  hash: string;
  block: number | null;
}

describe('tamper-evident audit log', () => {
  let t: TestApp;
  let warningId: string;

  beforeAll(async () => {
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) });
    const s = t.sandbox!.carrier;
    for (const p of Object.values(PEOPLE)) s.setProfile(p.mobile, 'confirms');
  });
  afterAll(() => t.close());

  const as = (role: keyof TestApp['tokens']) => ({ Authorization: `Bearer ${t.tokens[role]}` });
  const events = async (): Promise<EventView[]> => {
    const res = await t
      .http()
      .get('/v1/audit/events')
      .query({ warningId, limit: 1000 })
      .set(as('auditor'));
    expect(res.status).toBe(200);
    return res.body.items;
  };

  it('is for auditors only: 401 without a token, 403 for the other roles', async () => {
    for (const path of ['/v1/audit/verify', '/v1/audit/events']) {
      expect((await t.http().get(path)).status).toBe(401);
      for (const role of ['admin', 'duty_officer', 'grid_member'] as const)
        expect((await t.http().get(path).set(as(role))).status).toBe(403);
      expect((await t.http().get(path).set(as('auditor'))).status).toBe(200);
    }
  });

  it('records the tokens created, with their ids and never the token itself', async () => {
    const res = await t.http().get('/v1/audit/events').set(as('auditor'));
    const created = (res.body.items as EventView[]).filter((e) => e.action === 'token.created');
    expect(created.length).toBeGreaterThanOrEqual(4);
    const text = JSON.stringify(res.body.items);
    for (const token of Object.values(t.tokens)) expect(text).not.toContain(token);
  });

  it('chains the events of a warning as it is issued, sent and answered', async () => {
    const res = await t.http().post('/v1/warnings').set(as('duty_officer')).send(imminentWarning());
    expect(res.body).toMatchObject({ state: 'active' });
    expect(res.status).toBe(201);
    warningId = res.body.id;

    await waitUntil(async () => {
      const list = await events();
      return (
        list.filter((e) => e.action === 'attempt.sent').length >= 4 &&
        list.some((e) => e.action === 'answer.recorded')
      );
    }, 'attempts sent and answers recorded');

    const list = await events();
    const [duty] = await t.db.query(`SELECT id FROM api_tokens WHERE name = 'test duty_officer'`);
    expect(list[0]).toMatchObject({
      action: 'warning.issued',
      actor: duty.id,
      subjectType: 'warning',
      subjectId: warningId,
      data: { version: 1, kind: 'imminent', level: 'red', recipients: 4 },
    });
    const created = list.filter((e) => e.action === 'attempt.created');
    expect(created.length).toBeGreaterThanOrEqual(4);
    expect(new Set(created.map((e) => e.subjectId)).size).toBe(created.length);
    const sent = list.filter((e) => e.action === 'attempt.sent');
    expect(sent[0].actor).toMatch(/^provider:/);
    const answer = list.find((e) => e.action === 'answer.recorded')!;
    expect(answer.data).toMatchObject({ kind: 'confirm' });

    // Ids and codes only: no phone number anywhere in the log.
    const text = JSON.stringify(list);
    for (const p of Object.values(PEOPLE)) {
      expect(text).not.toContain(p.mobile);
      expect(text).not.toContain(p.mobile.slice(3));
    }

    // Sealed in id order (the warning's events interleave with others): every event up to the
    // last block sits in a block with its hash, each block links to the one before it, and every
    // event listed above is sealed.
    const { horizon } = await t.app.get(AuditService).seal({ waitMs: 10_000 });
    expect(horizon).not.toBeNull();
    const blocks: {
      no: number;
      firstId: string;
      lastId: string;
      prevHash: string;
      hash: string;
      hashes: string;
    }[] = await t.db.query(
      `SELECT no::int, first_id::text AS "firstId", last_id::text AS "lastId", prev_hash AS "prevHash",
              hash, encode(hashes, 'hex') AS hashes
         FROM audit_blocks ORDER BY no`,
    );
    expect(blocks.length).toBeGreaterThan(0);
    blocks.forEach((b, i) => {
      expect(b.no).toBe(i + 1);
      expect(b.prevHash).toBe(i ? blocks[i - 1].hash : '0'.repeat(64));
      expect(BigInt(b.firstId)).toBe(i ? BigInt(blocks[i - 1].lastId) + 1n : 1n);
    });
    const lastSealed = blocks[blocks.length - 1].lastId;
    const all: { id: string; hash: string }[] = await t.db.query(
      `SELECT id::text, hash FROM audit_events WHERE id <= $1 ORDER BY audit_events.id`,
      [lastSealed],
    );
    expect(blocks.map((b) => b.hashes).join('')).toBe(all.map((e) => e.hash).join(''));
    for (const e of list) expect(BigInt(e.id)).toBeLessThanOrEqual(BigInt(lastSealed));
    expect(
      (await events()).filter((e) => list.some((l) => l.id === e.id)).every((e) => e.block),
    ).toBe(true);
  });

  it('verifies the whole chain', async () => {
    // Counted first: the warning's chain may still append events while verify runs, and verify
    // must cover at least every event that existed when it was asked.
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM audit_events`);
    const res = await t.http().get('/v1/audit/verify').set(as('auditor'));
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.checked).toBeGreaterThanOrEqual(n);
    expect(res.body.firstBroken).toBeUndefined();
    // Sealed up to a signed checkpoint; whatever was not sealed yet is reported, not hidden.
    expect(res.body.sealed.events + res.body.unsealed.count).toBe(res.body.checked);
    expect(res.body.checkpoint).toMatchObject({
      block: res.body.sealed.blocks,
      lastId: res.body.sealed.lastId,
      head: expect.stringMatching(/^[0-9a-f]{64}$/),
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('the database refuses UPDATE, DELETE and TRUNCATE on audit_events', async () => {
    const [{ id }] = await t.db.query(`SELECT min(id)::text AS id FROM audit_events`);
    await expect(
      t.db.query(`UPDATE audit_events SET actor = 'someone else' WHERE id = $1`, [id]),
    ).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(t.db.query(`DELETE FROM audit_events WHERE id = $1`, [id])).rejects.toThrow(
      /append-only: DELETE refused/,
    );
    await expect(t.db.query(`TRUNCATE audit_events`)).rejects.toThrow(
      /append-only: TRUNCATE refused/,
    );
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM audit_events WHERE id = $1`, [
      id,
    ]);
    expect(n).toBe(1);
  });

  it('names the row changed behind its back (trigger disabled by the table owner)', async () => {
    const issued = (await events()).find((e) => e.action === 'warning.issued')!;
    await t.db.transaction(async (m) => {
      await m.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`);
      await m.query(
        `UPDATE audit_events SET data = jsonb_set(data, '{recipients}', '400') WHERE id = $1`,
        [issued.id],
      );
      await m.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
    });
    const res = await t.http().get('/v1/audit/verify').set(as('auditor'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: false,
      firstBroken: { id: issued.id, reason: 'hash_mismatch' },
    });
    // And the trigger is back on.
    await expect(t.db.query(`DELETE FROM audit_events WHERE id = $1`, [issued.id])).rejects.toThrow(
      /append-only/,
    );
  });

  it('names the row after one deleted behind its back', async () => {
    const tampered = (await events()).find((e) => e.action === 'warning.issued')!;
    const list = await events();
    const victim = list[Math.floor(list.length / 2)];
    const [next] = await t.db.query(
      `SELECT id::text AS id FROM audit_events WHERE id > $1 ORDER BY audit_events.id LIMIT 1`,
      [victim.id],
    );
    await t.db.transaction(async (m) => {
      await m.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`);
      // Put the earlier tampered row back as it was: the chain holds again …
      await m.query(`UPDATE audit_events SET data = $2::jsonb WHERE id = $1`, [
        tampered.id,
        JSON.stringify({ ...tampered.data, recipients: 4 }),
      ]);
      await m.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
    });
    expect((await t.http().get('/v1/audit/verify').set(as('auditor'))).body.ok).toBe(true);

    // … until a row disappears: the one after it no longer links to its predecessor.
    await t.db.transaction(async (m) => {
      await m.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`);
      await m.query(`DELETE FROM audit_events WHERE id = $1`, [victim.id]);
      await m.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
    });
    const res = await t.http().get('/v1/audit/verify').set(as('auditor'));
    expect(res.body).toMatchObject({
      ok: false,
      firstBroken: { id: next.id, reason: 'prev_mismatch' },
    });
  });
});
