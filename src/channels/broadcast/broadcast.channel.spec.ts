import type { SandboxCarrier } from '../../sandbox/sandbox-carrier';
import { startTestSandbox, TEST_BROADCAST_SECRET } from '../../sandbox/testing/fixtures';
import { ChannelError } from '../channel.types';
import { CallbackServer } from '../testing/callback-server';
import { parseBroadcastReceipt, type BroadcastReceiptEvent } from './broadcast-receipt';
import {
  BROADCAST_SIGNATURE_HEADER,
  broadcastSignature,
  BroadcastReceiptVerifier,
  verifyBroadcastReceipt,
} from './broadcast-signature';
import { BroadcastPlatformChannel } from './broadcast.channel';

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const TEXT = '紧急通知：映秀镇渔子溪村后山可能发生滑坡，请村民立即撤离到映秀镇小学。';

describe('BroadcastPlatformChannel against the sandbox broadcast platform', () => {
  let gateway: CallbackServer;
  let carrier: SandboxCarrier;
  let broadcast: BroadcastPlatformChannel;
  const verifier = new BroadcastReceiptVerifier(TEST_BROADCAST_SECRET);
  const receipts: BroadcastReceiptEvent[] = [];

  beforeAll(async () => {
    gateway = await CallbackServer.start();
    // The gateway's receipt route: verify the raw body, then record the receipt.
    gateway.on('/webhooks/broadcast/receipts', (req) => {
      const receipt = verifier.verify(
        req.rawBody,
        req.headers[BROADCAST_SIGNATURE_HEADER.toLowerCase()],
      );
      if (!receipt) return { status: 403 };
      receipts.push(receipt);
      return { status: 204 };
    });
    carrier = await startTestSandbox();
    broadcast = new BroadcastPlatformChannel({
      apiUrl: carrier.baseUrl,
      secret: TEST_BROADCAST_SECRET,
    });
  });

  afterAll(async () => {
    await carrier.stop();
    await gateway.stop();
  });

  const task = (
    taskRef: string,
    over: Partial<Parameters<BroadcastPlatformChannel['send']>[0]> = {},
  ) => ({
    taskRef,
    text: TEXT,
    areaCodes: ['513221100201'],
    terminalCodes: ['T-0001', 'T-0002'],
    level: 'red',
    repeat: 2,
    callbackUrl: gateway.url('/webhooks/broadcast/receipts'),
    ...over,
  });

  it('creates a signed task and receives one verified playback receipt per terminal', async () => {
    carrier.setTerminalStatus('T-0001', 'online');
    carrier.setTerminalStatus('T-0002', 'offline');
    const receipt = await broadcast.send(task('attempt-1'));
    expect(receipt.providerId).toMatch(/^BT[0-9a-f]+$/);
    expect(receipt).toMatchObject({ status: 'accepted', terminals: ['T-0001', 'T-0002'] });

    await until(() => receipts.length >= 2);
    const byTerminal = Object.fromEntries(receipts.map((r) => [r.terminalCode, r]));
    expect(byTerminal['T-0001']).toMatchObject({
      taskId: receipt.providerId,
      taskRef: 'attempt-1',
      status: 'played',
      repeat: 2,
    });
    expect(byTerminal['T-0001'].playedAt).toBeInstanceOf(Date);
    expect(byTerminal['T-0002']).toMatchObject({
      status: 'failed',
      repeat: 0,
      error: 'terminal_offline',
    });
    expect(byTerminal['T-0002'].playedAt).toBeUndefined();
  });

  it('a repeated taskRef with the same task is the same task (safe retry); a different one is refused', async () => {
    const first = await broadcast.send(task('attempt-2', { terminalCodes: ['T-0003'] }));
    const again = await broadcast.send(task('attempt-2', { terminalCodes: ['T-0003'] }));
    expect(again).toMatchObject({ providerId: first.providerId, status: 'already_accepted' });
    const err = (await broadcast
      .send(task('attempt-2', { text: '另一条' }))
      .catch((e: unknown) => e)) as ChannelError;
    expect(err).toMatchObject({ kind: 'permanent', code: 'task_ref_conflict' });
  });

  it('a wrong secret → permanent invalid_signature', async () => {
    const wrong = new BroadcastPlatformChannel({
      apiUrl: carrier.baseUrl,
      secret: 'not-the-platform-secret',
    });
    const err = (await wrong.send(task('attempt-3')).catch((e: unknown) => e)) as ChannelError;
    expect(err).toMatchObject({ kind: 'permanent', code: 'invalid_signature' });
  });

  it('refuses an invalid task before sending', async () => {
    for (const bad of [
      task('a4', { repeat: 11 }),
      task('a5', { text: ' ' }),
      task('a6', { areaCodes: [], terminalCodes: [] }),
    ]) {
      const err = (await broadcast.send(bad).catch((e: unknown) => e)) as ChannelError;
      expect(err).toBeInstanceOf(ChannelError);
      expect(err).toMatchObject({ kind: 'permanent', code: 'invalid_task' });
    }
    expect(
      carrier.events((e) => e.type === 'broadcast.rejected' && e.data.error === 'invalid_request'),
    ).toHaveLength(0);
  });
});

describe('broadcast receipts', () => {
  const body = JSON.stringify({
    taskId: 'BT1',
    taskRef: 'a1',
    terminalCode: 'T1',
    status: 'played',
    playedAt: '2024-07-10T12:40:00.000Z',
    repeat: 3,
  });
  const sig = broadcastSignature('s3cret-s3cret-s3cret', body);

  it('verifies the HMAC of the exact bytes', () => {
    expect(verifyBroadcastReceipt(body, sig, 's3cret-s3cret-s3cret')).toBe(true);
    expect(
      verifyBroadcastReceipt(Buffer.from(body), sig.toUpperCase(), 's3cret-s3cret-s3cret'),
    ).toBe(true);
    expect(verifyBroadcastReceipt(`${body} `, sig, 's3cret-s3cret-s3cret')).toBe(false);
    expect(verifyBroadcastReceipt(body, sig, 'other-secret-other')).toBe(false);
    expect(verifyBroadcastReceipt(body, undefined, 's3cret-s3cret-s3cret')).toBe(false);
    expect(verifyBroadcastReceipt(body, 'zz', 's3cret-s3cret-s3cret')).toBe(false);
    expect(new BroadcastReceiptVerifier(undefined).verify(body, sig)).toBeNull();
  });

  it('parses a receipt and refuses what is not one', () => {
    expect(parseBroadcastReceipt(body)).toEqual({
      taskId: 'BT1',
      taskRef: 'a1',
      terminalCode: 'T1',
      status: 'played',
      playedAt: new Date('2024-07-10T12:40:00.000Z'),
      repeat: 3,
    });
    expect(() => parseBroadcastReceipt('[]')).toThrow('not a JSON object');
    expect(() =>
      parseBroadcastReceipt(
        JSON.stringify({ taskId: 'BT1', taskRef: 'a', terminalCode: 'T', status: 'lost' }),
      ),
    ).toThrow('unknown receipt status');
    const verifier = new BroadcastReceiptVerifier('s3cret-s3cret-s3cret');
    const junk = '{"hello":1}';
    expect(verifier.verify(junk, broadcastSignature('s3cret-s3cret-s3cret', junk))).toBeNull();
  });
});
