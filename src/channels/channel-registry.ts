import type { RobotPlatform } from '../common/domain/directory.types';
import type {
  BroadcastChannel,
  EmailChannel,
  GroupRobotClient,
  SmsChannel,
  VoiceChannel,
} from './channel.interface';
import { ChannelError, type ChannelKind } from './channel.types';
import { RobotRegistry } from './group-robot/robot-registry';

/** The vendor classes built from config; a provider that is not configured is absent. */
export interface ConfiguredChannels {
  sms?: SmsChannel;
  voice?: VoiceChannel;
  email?: EmailChannel;
  broadcast?: BroadcastChannel;
  robots: GroupRobotClient[];
}

/**
 * Hands dispatch the configured channel of a kind (the Novu registry: one interface per channel
 * type, the vendor class behind it chosen by config). The channels speak their provider's
 * protocol only: the caller runs them through ProviderBreakers and, for robots, waits on
 * ProviderRateLimiter first. A kind that is not configured fails with
 * ChannelError('permanent', 'not_configured'): dispatch moves on to the person's next channel, as
 * for any permanent failure.
 *
 *   await breakers.run('twilio:sms', () => registry.sms.send({ to, body, statusCallbackUrl }));
 */
export class ChannelRegistry {
  private readonly robots: RobotRegistry;

  constructor(private readonly channels: ConfiguredChannels) {
    this.robots = new RobotRegistry(channels.robots);
  }

  /** Whether `kind` can be used at all ('manual' needs no provider: it is always available). */
  isConfigured(kind: ChannelKind): boolean {
    switch (kind) {
      case 'sms':
      case 'voice':
      case 'email':
      case 'broadcast':
        return this.channels[kind] !== undefined;
      case 'wecom':
      case 'dingtalk':
      case 'feishu':
        return this.robots.platforms().includes(kind);
      case 'manual':
        return true;
    }
  }

  /** Of `kinds`, those that are configured (order kept). */
  configuredKinds(kinds: readonly ChannelKind[]): ChannelKind[] {
    return kinds.filter((k) => this.isConfigured(k));
  }

  private need<T>(channel: T | undefined, kind: ChannelKind): T {
    if (!channel) {
      throw new ChannelError('permanent', 'not_configured', `channel ${kind} is not configured`);
    }
    return channel;
  }

  get sms(): SmsChannel {
    return this.need(this.channels.sms, 'sms');
  }

  get voice(): VoiceChannel {
    return this.need(this.channels.voice, 'voice');
  }

  get email(): EmailChannel {
    return this.need(this.channels.email, 'email');
  }

  get broadcast(): BroadcastChannel {
    return this.need(this.channels.broadcast, 'broadcast');
  }

  robot(platform: RobotPlatform): GroupRobotClient {
    if (!this.robots.platforms().includes(platform))
      return this.need<GroupRobotClient>(undefined, platform);
    return this.robots.get(platform);
  }
}
