import * as net from 'node:net';
import type { SandboxEvent } from './event-log';
import { presetProfile } from './person-profiles';
import { SandboxCarrier } from './sandbox-carrier';
import { sandboxTwilioClient, startTestSandbox, TEST_ACCOUNT_SID } from './testing/fixtures';
import { WebhookReceiver } from './testing/webhook-receiver';

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('SandboxCarrier', () => {
  it('serves the event log over HTTP with filters, and describes itself', async () => {
    const carrier = await startTestSandbox();
    try {
      const to = '+8613800000001';
      carrier.setProfile(to, presetProfile('confirms', { sms: { deliverAfterMs: 50 } }));
      const message = await sandboxTwilioClient(carrier).messages.create({
        to,
        from: '+8610690000',
        body: '预警',
      });
      await carrier.waitFor((e) => e.ref === message.sid && e.data.status === 'delivered');

      const all = (await (
        await fetch(`${carrier.baseUrl}/sandbox/events`)
      ).json()) as SandboxEvent[];
      expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b));
      const statuses = (await (
        await fetch(`${carrier.baseUrl}/sandbox/events?type=sms.status&ref=${message.sid}`)
      ).json()) as SandboxEvent[];
      expect(statuses.map((e) => e.data.status)).toEqual(['queued', 'sent', 'delivered']);
      const since = statuses[0].seq;
      const later = (await (
        await fetch(`${carrier.baseUrl}/sandbox/events?since=${since}`)
      ).json()) as SandboxEvent[];
      expect(later.every((e) => e.seq > since)).toBe(true);

      const about = (await (await fetch(`${carrier.baseUrl}/sandbox`)).json()) as Record<
        string,
        unknown
      >;
      expect(about).toMatchObject({ twilioApiBaseUrl: carrier.baseUrl, timeScale: 0.01, seed: 7 });
      const profile = (await (
        await fetch(`${carrier.baseUrl}/sandbox/profiles/${encodeURIComponent(to)}`)
      ).json()) as {
        kind: string;
      };
      expect(profile.kind).toBe('confirms');
    } finally {
      await carrier.stop();
    }
  });

  it('streams events to subscribers and times out waitFor with the recent events', async () => {
    const carrier = await startTestSandbox();
    try {
      const seen: string[] = [];
      const off = carrier.onEvent((e) => seen.push(e.type));
      await fetch(carrier.urls().wecom('wecom-key-1'), {
        method: 'POST',
        body: JSON.stringify({ msgtype: 'text', text: { content: 'x' } }),
      });
      off();
      expect(seen).toEqual(['robot.message']);
      await expect(carrier.waitFor({ type: 'never' }, 50)).rejects.toThrow(/robot\.message/);
    } finally {
      await carrier.stop();
    }
  });

  it('stop() ends calls in progress, stops posting webhooks and closes both ports', async () => {
    const gateway = await WebhookReceiver.start();
    gateway.on('/answer', () => ({
      contentType: 'text/xml',
      body: '<Response><Say language="zh-CN">很长的预警内容，请注意安全。很长的预警内容，请注意安全。</Say></Response>',
    }));
    const carrier = await SandboxCarrier.start({
      twilio: { accountSid: TEST_ACCOUNT_SID, authToken: 'tok' },
      robotSecret: () => undefined,
      broadcastSecret: 'b',
      timeScale: 0.5,
    });
    const { baseUrl, smtpPort } = carrier;
    const port = Number(new URL(baseUrl).port);
    try {
      carrier.setProfile('+8613800000002', presetProfile('silent', { voice: { ringMs: 100 } }));
      const client = sandboxTwilioClient(carrier, 'tok');
      await client.calls.create({
        to: '+8613800000002',
        from: '+8628800000000',
        url: gateway.url('/answer'),
        statusCallback: gateway.url('/status'),
      });
      await gateway.waitFor((r) => r.path === '/answer');
    } finally {
      await carrier.stop();
    }
    const countAfterStop = gateway.requests().length;
    await new Promise((r) => setTimeout(r, 200));
    expect(gateway.requests()).toHaveLength(countAfterStop);
    expect(gateway.requests('/status')).toHaveLength(0);
    expect(await canConnect(port)).toBe(false);
    expect(await canConnect(smtpPort)).toBe(false);
    await carrier.stop(); // idempotent
    await gateway.stop();
  });

  it('validates its options', async () => {
    const base = { robotSecret: () => undefined, broadcastSecret: 'b' };
    await expect(
      SandboxCarrier.start({ ...base, twilio: { accountSid: 'bad', authToken: 't' } }),
    ).rejects.toThrow(/account SID/);
    await expect(
      SandboxCarrier.start({
        ...base,
        twilio: { accountSid: TEST_ACCOUNT_SID, authToken: 't' },
        timeScale: 0,
      }),
    ).rejects.toThrow(/timeScale/);
  });
});
