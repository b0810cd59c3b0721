import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import twilio from 'twilio';
import { createTestDatabase } from '../../test/helpers/database';
import { testRedisUrl } from '../../test/helpers/redis';
import type { SandboxCarrier } from '../sandbox/sandbox-carrier';
import {
  startTestSandbox,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
  TEST_BROADCAST_SECRET,
} from '../sandbox/testing/fixtures';
import { broadcastSignature, BroadcastReceiptVerifier } from './broadcast/broadcast-signature';
import { ChannelRegistry } from './channel-registry';
import { ChannelError } from './channel.types';
import { ChannelsConfigurationError } from './channels.config';
import { ChannelsModule } from './channels.module';
import { ProviderBreakers } from './resilience/provider-breakers';
import { ProviderRateLimiter } from './resilience/provider-rate-limiter';
import { RateLimitStoreHandle } from './resilience/rate-limit-store';
import { TwilioWebhookVerifier } from './twilio/twilio-webhook';

const CHANNEL_VARIABLES =
  /^(TWILIO_|SMTP_|MAIL_FROM|BROADCAST_|WECOM_|DINGTALK_|FEISHU_|SMS_SIGNATURE|BREAKER_|EMAIL_PER)/;

/** The env a demo or e2e run gives the gateway to use the sandbox carrier for everything. */
function sandboxEnv(carrier: SandboxCarrier): Record<string, string> {
  const u = carrier.urls();
  return {
    TWILIO_ACCOUNT_SID: TEST_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    TWILIO_FROM_NUMBER: '+8610690000110',
    TWILIO_API_BASE_URL: carrier.baseUrl,
    SMTP_URL: `smtp://${u.smtp.host}:${u.smtp.port}`,
    MAIL_FROM: '应急预警 <alerts@example.cn>',
    BROADCAST_API_URL: carrier.baseUrl,
    BROADCAST_SECRET: TEST_BROADCAST_SECRET,
    WECOM_API_BASE_URL: carrier.baseUrl,
    DINGTALK_API_BASE_URL: carrier.baseUrl,
    FEISHU_API_BASE_URL: carrier.baseUrl,
  };
}

describe('ChannelsModule', () => {
  let carrier: SandboxCarrier;

  beforeAll(async () => {
    carrier = await startTestSandbox();
  });
  afterAll(() => carrier.stop());

  describe('built from the sandbox env', () => {
    let app: INestApplicationContext;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          ChannelsModule.forRoot({ env: sandboxEnv(carrier), rateLimitStore: { kind: 'memory' } }),
        ],
      }).compile();
      app = await moduleRef.init();
    });
    afterAll(() => app.close());

    it('configures every channel and sends through the registry', async () => {
      const registry = app.get(ChannelRegistry);
      for (const kind of [
        'sms',
        'voice',
        'email',
        'broadcast',
        'wecom',
        'dingtalk',
        'feishu',
        'manual',
      ] as const) {
        expect(registry.isConfigured(kind)).toBe(true);
      }
      const sms = await registry.sms.send({ to: '+8613800000011', body: '测试短信' });
      expect(sms.providerId).toMatch(/^SM/);
      const mail = await registry.email.send({ to: 'a@example.cn', subject: '测试', text: '正文' });
      expect(carrier.sentEmails().some((m) => m.messageId === mail.providerId)).toBe(true);
      const robot = await registry.robot('wecom').send(
        {
          code: 'w1',
          webhookUrl: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key-1',
        },
        {
          title: 't',
          markdown: '**测试**',
          bytes: 10,
          mentions: [],
          atMobiles: [],
          atUserIds: [],
        },
      );
      expect(robot.status).toBe('ok');
      // The @mobile follow-up paces itself on the limiter: the caller takes one slot.
      const mobileOnly = { name: '李四', mobile: '+8613800000002' };
      expect(
        registry.robot('wecom').requestsFor({
          title: 't',
          markdown: 'x',
          bytes: 1,
          mentions: [mobileOnly],
          atMobiles: [],
          atUserIds: [],
        }),
      ).toBe(1);
    });

    it('provides the webhook verifiers bound to the configured secrets', () => {
      const url = 'https://gw.example.cn/webhooks/twilio/sms';
      const params = { MessageSid: 'SM1', Body: '1' };
      const signature = twilio.getExpectedTwilioSignature(TEST_AUTH_TOKEN, url, params);
      expect(app.get(TwilioWebhookVerifier).verify({ url, params, signature })).toBe(true);
      const body = JSON.stringify({
        taskId: 'BT1',
        taskRef: 'a',
        terminalCode: 'T',
        status: 'failed',
        playedAt: null,
        repeat: 0,
        error: 'terminal_offline',
      });
      expect(
        app
          .get(BroadcastReceiptVerifier)
          .verify(body, broadcastSignature(TEST_BROADCAST_SECRET, body)),
      ).toMatchObject({ status: 'failed' });
    });

    it('provides the breakers and the robot rate limiter with the configured limits', async () => {
      const limiter = app.get(ProviderRateLimiter);
      await expect(limiter.acquireRobot('dingtalk', 'd1')).resolves.toBe(0);
      await expect(
        limiter.acquireRobot('dingtalk', 'd1', 1, { maxWaitMs: 0 }),
      ).rejects.toMatchObject({ kind: 'rate_limited' });
      expect(app.get(ProviderBreakers).state('twilio:sms')).toBe('closed');
    });
  });

  describe('the static import (env from process.env)', () => {
    const saved: Record<string, string | undefined> = {};

    beforeAll(() => {
      for (const key of Object.keys(process.env)) {
        if (CHANNEL_VARIABLES.test(key)) {
          saved[key] = process.env[key];
          delete process.env[key];
        }
      }
    });
    afterAll(() => Object.assign(process.env, saved));

    it('without provider variables: robots only; other kinds fail as not_configured (permanent)', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [ChannelsModule] }).compile();
      const app = await moduleRef.init();
      try {
        const registry = app.get(ChannelRegistry);
        expect(
          registry.configuredKinds([
            'sms',
            'voice',
            'email',
            'broadcast',
            'wecom',
            'dingtalk',
            'feishu',
            'manual',
          ]),
        ).toEqual(['wecom', 'dingtalk', 'feishu', 'manual']);
        const err = (() => {
          try {
            return registry.sms;
          } catch (e) {
            return e;
          }
        })() as ChannelError;
        expect(err).toBeInstanceOf(ChannelError);
        expect(err).toMatchObject({ kind: 'permanent', code: 'not_configured' });
        // No Twilio: every Twilio webhook is refused; no broadcast secret: every receipt too.
        expect(
          app
            .get(TwilioWebhookVerifier)
            .verify({ url: 'https://x/y', params: {}, signature: 'abc' }),
        ).toBe(false);
        expect(app.get(BroadcastReceiptVerifier).verify('{}', 'ab')).toBeNull();
      } finally {
        await app.close();
      }
    });

    it('fails at boot naming the bad variable', async () => {
      process.env.TWILIO_FROM_NUMBER = 'not-a-number';
      try {
        const moduleRef = Test.createTestingModule({ imports: [ChannelsModule] });
        await expect(moduleRef.compile()).rejects.toThrow(ChannelsConfigurationError);
        await expect(
          Test.createTestingModule({ imports: [ChannelsModule] }).compile(),
        ).rejects.toThrow('TWILIO_FROM_NUMBER');
      } finally {
        delete process.env.TWILIO_FROM_NUMBER;
      }
    });
  });

  describe('rate-limit stores', () => {
    it('opens and closes a Redis store', async () => {
      const handle = await RateLimitStoreHandle.open({ kind: 'redis', url: testRedisUrl() });
      const limiter = new ProviderRateLimiter(handle.store, {
        insurance: false,
        keyPrefix: `t${Date.now()}`,
      });
      await expect(limiter.acquire('k', [{ points: 1, windowMs: 60_000 }])).resolves.toBe(0);
      await handle.close();
    });

    it('opens a Postgres store, creating its table', async () => {
      const db = await createTestDatabase('rlstore');
      try {
        const handle = await RateLimitStoreHandle.open({
          kind: 'postgres',
          connectionString: db.url,
        });
        const limiter = new ProviderRateLimiter(handle.store, { insurance: false });
        await expect(limiter.acquire('k', [{ points: 1, windowMs: 60_000 }])).resolves.toBe(0);
        if (handle.store.kind !== 'postgres') throw new Error('expected postgres');
        const { rows } = await handle.store.pool.query<{ key: string; points: number }>(
          'SELECT key, points FROM channel_rate_limits',
        );
        expect(rows).toEqual([{ key: 'wg:rl:1p60s:k', points: 1 }]);
        await handle.close();
      } finally {
        await db.drop();
      }
    });
  });
});
