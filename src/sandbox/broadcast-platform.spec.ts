import { createHmac } from 'node:crypto';
import type { BroadcastReceipt } from './broadcast-platform';
import type { SandboxCarrier } from './sandbox-carrier';
import { startTestSandbox, TEST_BROADCAST_SECRET } from './testing/fixtures';
import { WebhookReceiver } from './testing/webhook-receiver';

const sign = (body: string, secret = TEST_BROADCAST_SECRET) =>
  createHmac('sha256', secret).update(body).digest('hex');

describe('sandbox carrier: emergency broadcast platform', () => {
  let gateway: WebhookReceiver;
  let carrier: SandboxCarrier;

  beforeEach(async () => {
    gateway = await WebhookReceiver.start();
    carrier = await startTestSandbox();
  });

  afterEach(async () => {
    await carrier.stop();
    await gateway.stop();
  });

  const task = (overrides: Record<string, unknown> = {}) => ({
    taskRef: 'W-513221-001/broadcast/1',
    text: '紧急通知：滑坡橙色预警，请立即转移到村小学。',
    areaCodes: ['513221101001'],
    terminalCodes: ['T-001', 'T-002', 'T-003'],
    level: 'orange',
    repeat: 2,
    callbackUrl: gateway.url('/broadcast/receipts'),
    ...overrides,
  });

  const submit = async (body: unknown, signature?: string) => {
    const raw = JSON.stringify(body);
    const res = await fetch(carrier.urls().broadcastTasks, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Broadcast-Signature': signature ?? sign(raw),
      },
      body: raw,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('accepts a signed task and posts one signed receipt per terminal; offline terminals fail', async () => {
    carrier.setTerminalStatus('T-003', 'offline');
    const res = await submit(task());
    expect(res.status).toBe(201);
    expect(res.json.taskId).toMatch(/^BT[0-9a-f]{24}$/);
    expect(res.json.terminals).toEqual(['T-001', 'T-002', 'T-003']);

    await carrier.waitFor((e) => e.type === 'broadcast.receipt' && e.to === 'T-003');
    for (const t of ['T-001', 'T-002'])
      await carrier.waitFor((e) => e.type === 'broadcast.receipt' && e.to === t);
    const receipts = gateway.requests('/broadcast/receipts');
    expect(receipts).toHaveLength(3);
    for (const r of receipts) {
      expect(r.headers['content-type']).toContain('application/json');
      expect(r.headers['x-broadcast-signature']).toBe(sign(r.rawBody));
    }
    const byTerminal = Object.fromEntries(
      receipts.map((r) => [(r.json as BroadcastReceipt).terminalCode, r.json as BroadcastReceipt]),
    );
    expect(byTerminal['T-001']).toMatchObject({
      taskId: res.json.taskId,
      taskRef: 'W-513221-001/broadcast/1',
      status: 'played',
      repeat: 2,
    });
    expect(new Date(byTerminal['T-001'].playedAt ?? '').getTime()).not.toBeNaN();
    expect(byTerminal['T-003']).toMatchObject({
      status: 'failed',
      playedAt: null,
      repeat: 0,
      error: 'terminal_offline',
    });
  });

  it('expands areas into their terminals when no terminal is listed', async () => {
    const res = await submit(
      task({ terminalCodes: [], areaCodes: ['513221101001', '513221101002'] }),
    );
    expect(res.status).toBe(201);
    const terminals = res.json.terminals as string[];
    expect(terminals.length).toBeGreaterThanOrEqual(4);
    expect(terminals.every((t) => /^51322110100[12]-0\d$/.test(t))).toBe(true);
    await gateway.waitFor(
      () => gateway.requests('/broadcast/receipts').length === terminals.length,
      3_000,
    );
  });

  it('chooses failing terminals deterministically from the seed', async () => {
    const other = await startTestSandbox({ seed: 7 });
    const codes = Array.from({ length: 120 }, (_, i) => `T-${i}`);
    try {
      const first = await submit(task({ terminalCodes: codes, repeat: 1, taskRef: 'det-1' }));
      expect(first.status).toBe(201);
      await gateway.waitFor(
        () => gateway.requests('/broadcast/receipts').length === codes.length,
        5_000,
      );
      const failed = gateway
        .requests('/broadcast/receipts')
        .map((r) => r.json as BroadcastReceipt)
        .filter((r) => r.status === 'failed')
        .map((r) => r.terminalCode)
        .sort();
      // About 10% of terminals are offline.
      expect(failed.length).toBeGreaterThan(3);
      expect(failed.length).toBeLessThan(30);
      const raw = JSON.stringify(task({ terminalCodes: codes, repeat: 1, taskRef: 'det-2' }));
      await fetch(other.urls().broadcastTasks, {
        method: 'POST',
        headers: { 'X-Broadcast-Signature': sign(raw), 'Content-Type': 'application/json' },
        body: raw,
      });
      const events = await Promise.all(
        codes.map((c) => other.waitFor((e) => e.type === 'broadcast.receipt' && e.to === c)),
      );
      expect(
        events
          .filter((e) => e.data.status === 'failed')
          .map((e) => e.to)
          .sort(),
      ).toEqual(failed);
    } finally {
      await other.stop();
    }
  });

  it('refuses a bad signature (401) and an invalid task (400)', async () => {
    const bad = await submit(task(), sign(JSON.stringify(task()), 'other-secret'));
    expect(bad).toEqual({
      status: 401,
      json: expect.objectContaining({ error: 'invalid_signature' }),
    });
    const invalid = await submit(task({ repeat: 0 }));
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ error: 'invalid_request' });
    const noTarget = await submit(task({ areaCodes: [], terminalCodes: [] }));
    expect(noTarget.status).toBe(400);
    expect(carrier.events({ type: 'broadcast.task' })).toHaveLength(0);
  });

  it('is idempotent on taskRef: the same task again returns the same taskId, another one is a conflict', async () => {
    const first = await submit(task({ terminalCodes: ['T-9'] }));
    const again = await submit(task({ terminalCodes: ['T-9'] }));
    expect(again).toEqual({ status: 200, json: first.json });
    const conflict = await submit(task({ terminalCodes: ['T-9'], text: '另一条' }));
    expect(conflict.status).toBe(409);
    expect(carrier.events({ type: 'broadcast.task' })).toHaveLength(1);
  });

  it('retries a receipt the gateway did not accept', async () => {
    let calls = 0;
    gateway.on('/broadcast/receipts', () => (++calls === 1 ? { status: 503 } : { status: 204 }));
    carrier.setTerminalStatus('T-7', 'online');
    await submit(task({ terminalCodes: ['T-7'], repeat: 1 }));
    const delivered = await carrier.waitFor(
      (e) => e.type === 'broadcast.receipt' && e.data.delivered === true,
    );
    expect(delivered.data).toMatchObject({ attempt: 2, terminalCode: 'T-7', status: 'played' });
    expect(gateway.requests('/broadcast/receipts')).toHaveLength(2);
  });
});
