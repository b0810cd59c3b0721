import { type DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { GATEWAY_RUNTIME, type GatewayRuntime } from '../common/runtime.token';
import { BroadcastReceiptVerifier } from './broadcast/broadcast-signature';
import { BroadcastPlatformChannel } from './broadcast/broadcast.channel';
import type { RobotPlatform } from '../common/domain/directory.types';
import type { RobotTarget } from './channel.interface';
import { ChannelRegistry, type ConfiguredChannels } from './channel-registry';
import { redactChannelsConfig, validateChannelsEnv, type ChannelsConfig } from './channels.config';
import {
  CHANNELS_CONFIG,
  CONFIGURED_CHANNELS,
  SMTP_CHANNEL,
  TWILIO_CLIENT,
} from './channels.tokens';
import { SmtpEmailChannel } from './email/email.channel';
import { DingTalkRobotClient } from './group-robot/dingtalk.robot';
import { FeishuRobotClient } from './group-robot/feishu.robot';
import { WeComRobotClient } from './group-robot/wecom.robot';
import { ProviderBreakers } from './resilience/provider-breakers';
import { ProviderRateLimiter } from './resilience/provider-rate-limiter';
import { ChannelRateLimits } from './resilience/rate-limit-rules';
import { RateLimitStoreHandle, type RateLimitStoreConfig } from './resilience/rate-limit-store';
import { TwilioSmsChannel } from './sms/sms.channel';
import { createTwilioClient, type TwilioClient } from './twilio/twilio-client.factory';
import { TwilioWebhookVerifier } from './twilio/twilio-webhook';
import { TwilioVoiceChannel } from './voice/voice.channel';

export interface ChannelsModuleOptions {
  /** The variables to validate (default process.env, which ConfigModule has loaded .env into). */
  env?: Record<string, unknown>;
  /**
   * Where the shared rate-limit counters live. Default: the queue's Redis when the runtime uses
   * Redis, else the gateway's Postgres (GATEWAY_RUNTIME); in-process memory without a runtime.
   */
  rateLimitStore?: RateLimitStoreConfig;
  /**
   * Longest ProviderRateLimiter.acquireRobot waits for a slot before failing as rate_limited (so
   * the job is re-queued instead of holding a worker). Default: wait as long as it takes.
   */
  robotMaxWaitMs?: number;
}

function storeConfigFor(
  options: ChannelsModuleOptions,
  runtime: GatewayRuntime | undefined,
): RateLimitStoreConfig {
  if (options.rateLimitStore) return options.rateLimitStore;
  if (!runtime) return { kind: 'memory' };
  return runtime.queue.backend === 'redis'
    ? { kind: 'redis', url: runtime.queue.url }
    : { kind: 'postgres', connectionString: runtime.databaseUrl };
}

/** `<QUEUE_PREFIX>:rl` (the HTTP rate limits are prefixed by it too); `wg:rl` without one. */
export function rateLimitPrefix(options: ChannelsModuleOptions): string {
  const prefix = (options.env ?? process.env).QUEUE_PREFIX;
  return typeof prefix === 'string' && prefix.trim() ? `${prefix.trim()}:rl` : 'wg:rl';
}

/** A robot's extra request (WeCom's @mobile follow-up) waits for its own rate-limit slot. */
const EXTRA_REQUEST_MAX_WAIT_MS = 30_000;

function buildChannels(
  config: ChannelsConfig,
  twilio: TwilioClient | null,
  smtp: SmtpEmailChannel | null,
  limiter: ProviderRateLimiter,
  limits: ChannelRateLimits,
): ConfiguredChannels {
  const logger = new Logger('Channels');
  const warn = (message: string) => logger.warn(message);
  const paceExtraRequest = (platform: RobotPlatform, robot: RobotTarget) =>
    limiter.acquireFor(limits.robot(platform, robot), { maxWaitMs: EXTRA_REQUEST_MAX_WAIT_MS });
  const t = config.twilio;
  return {
    ...(twilio && t
      ? {
          sms: new TwilioSmsChannel(twilio, {
            fromNumber: t.fromNumber,
            messagingServiceSid: t.messagingServiceSid,
            signature: config.sms.signature,
          }),
          ...(t.fromNumber
            ? { voice: new TwilioVoiceChannel(twilio, { fromNumber: t.fromNumber }) }
            : {}),
        }
      : {}),
    ...(smtp ? { email: smtp } : {}),
    ...(config.broadcast ? { broadcast: new BroadcastPlatformChannel(config.broadcast) } : {}),
    // Robots need no gateway-wide credentials (each robot's URL and secret are in the directory).
    robots: [
      new WeComRobotClient({ apiBaseUrl: config.robots.wecomApiBaseUrl, warn, paceExtraRequest }),
      new DingTalkRobotClient({ apiBaseUrl: config.robots.dingtalkApiBaseUrl, warn }),
      new FeishuRobotClient({ apiBaseUrl: config.robots.feishuApiBaseUrl, warn }),
    ],
  };
}

const CHANNELS_EXPORTS = [
  CHANNELS_CONFIG,
  TWILIO_CLIENT,
  ChannelRegistry,
  ChannelRateLimits,
  ProviderRateLimiter,
  ProviderBreakers,
  TwilioWebhookVerifier,
  BroadcastReceiptVerifier,
];

function channelsProviders(options: ChannelsModuleOptions): Provider[] {
  return [
    {
      provide: CHANNELS_CONFIG,
      useFactory: (): ChannelsConfig => {
        const config = validateChannelsEnv(options.env ?? process.env);
        new Logger('Channels').log(
          `channel config: ${JSON.stringify(redactChannelsConfig(config))}`,
        );
        return config;
      },
    },
    {
      provide: TWILIO_CLIENT,
      inject: [CHANNELS_CONFIG],
      useFactory: (config: ChannelsConfig): TwilioClient | null =>
        config.twilio
          ? createTwilioClient({
              accountSid: config.twilio.accountSid,
              authToken: config.twilio.authToken,
              apiBaseUrl: config.twilio.apiBaseUrl,
              timeoutMs: config.twilio.timeoutMs,
            })
          : null,
    },
    {
      provide: SMTP_CHANNEL,
      inject: [CHANNELS_CONFIG],
      useFactory: (config: ChannelsConfig) =>
        config.email
          ? new SmtpEmailChannel({ smtpUrl: config.email.smtpUrl, from: config.email.from })
          : null,
    },
    {
      provide: CONFIGURED_CHANNELS,
      inject: [
        CHANNELS_CONFIG,
        TWILIO_CLIENT,
        SMTP_CHANNEL,
        ProviderRateLimiter,
        ChannelRateLimits,
      ],
      useFactory: buildChannels,
    },
    {
      provide: ChannelRegistry,
      inject: [CONFIGURED_CHANNELS],
      useFactory: (channels: ConfiguredChannels) => new ChannelRegistry(channels),
    },
    {
      provide: RateLimitStoreHandle,
      inject: [{ token: GATEWAY_RUNTIME, optional: true }],
      useFactory: (runtime?: GatewayRuntime) =>
        RateLimitStoreHandle.open(storeConfigFor(options, runtime)),
    },
    {
      provide: ChannelRateLimits,
      inject: [CHANNELS_CONFIG],
      useFactory: (config: ChannelsConfig) => new ChannelRateLimits(config.rateLimits),
    },
    {
      provide: ProviderRateLimiter,
      inject: [RateLimitStoreHandle, ChannelRateLimits],
      useFactory: (handle: RateLimitStoreHandle, limits: ChannelRateLimits) =>
        new ProviderRateLimiter(handle.store, {
          limits,
          // One gateway's budget per provider: its processes share it, another gateway on the
          // same Redis (QUEUE_PREFIX apart) does not.
          keyPrefix: rateLimitPrefix(options),
          ...(options.robotMaxWaitMs !== undefined
            ? { robotMaxWaitMs: options.robotMaxWaitMs }
            : {}),
        }),
    },
    {
      provide: ProviderBreakers,
      inject: [CHANNELS_CONFIG],
      useFactory: (config: ChannelsConfig) =>
        new ProviderBreakers(config.breaker, new Logger('CircuitBreaker')),
    },
    {
      provide: TwilioWebhookVerifier,
      inject: [CHANNELS_CONFIG],
      // Without Twilio configured every Twilio webhook is refused.
      useFactory: (config: ChannelsConfig) =>
        new TwilioWebhookVerifier(config.twilio?.authToken ?? ''),
    },
    {
      provide: BroadcastReceiptVerifier,
      inject: [CHANNELS_CONFIG],
      useFactory: (config: ChannelsConfig) =>
        new BroadcastReceiptVerifier(config.broadcast?.secret),
    },
  ];
}

/**
 * The delivery channels, built from validated config (process.env), with the shared rate-limit
 * store taken from GATEWAY_RUNTIME. Import the class itself wherever channels are needed (one
 * instance for the whole app: the breakers, the limiter connection and the SMTP pool are shared):
 *
 *   @Module({ imports: [ChannelsModule] })
 *   constructor(registry: ChannelRegistry, breakers: ProviderBreakers, limiter: ProviderRateLimiter)
 *
 * `ChannelsModule.forRoot({ env, rateLimitStore })` builds a separate instance from explicit
 * options (tests, tools).
 */
@Module({ providers: channelsProviders({}), exports: CHANNELS_EXPORTS })
export class ChannelsModule {
  static forRoot(options: ChannelsModuleOptions = {}): DynamicModule {
    return {
      module: ConfiguredChannelsModule,
      providers: channelsProviders(options),
      exports: CHANNELS_EXPORTS,
    };
  }
}

/** The module class behind ChannelsModule.forRoot (its own instance, its own options). */
@Module({})
export class ConfiguredChannelsModule {}
