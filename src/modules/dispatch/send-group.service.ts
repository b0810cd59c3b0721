import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ChannelError } from '../../channels/channel.types';
import { ChannelRegistry } from '../../channels/channel-registry';
import { ProviderBreakers } from '../../channels/resilience/provider-breakers';
import { ProviderRateLimiter } from '../../channels/resilience/provider-rate-limiter';
import type { SecretBox } from '../../common/crypto/secret-box';
import { SECRET_BOX } from '../../common/crypto/secret-box.token';
import { PublicUrls } from '../../common/public-urls';
import { rows } from '../../database/sql';
import type { RobotPlatform } from '../directory/directory.types';
import type { MessageType } from '../warnings/warning.types';
import { WarningsRepository } from '../warnings/warnings.repository';
import { MessageRenderer } from './message-renderer';

interface GroupSendRow {
  id: string;
  warningId: string;
  version: number;
  msgType: MessageType;
  channel: RobotPlatform | 'broadcast';
  targetCode: string;
  mentions: string[];
  terminalCodes: string[];
  status: string;
  warningState: string;
}

/** Sends one robot message (all its parts) or one broadcast task. */
@Injectable()
export class SendGroupService {
  private readonly logger = new Logger(SendGroupService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly warnings: WarningsRepository,
    private readonly channels: ChannelRegistry,
    private readonly breakers: ProviderBreakers,
    private readonly limiter: ProviderRateLimiter,
    private readonly renderer: MessageRenderer,
    private readonly urls: PublicUrls,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
  ) {}

  async send(groupSendId: string, lastTry: boolean): Promise<void> {
    const [g] = await this.db.query<GroupSendRow[]>(
      `SELECT g.id, g.warning_id AS "warningId", g.version, g.msg_type AS "msgType", g.channel, g.target_code AS "targetCode",
              g.mentions, g.terminal_codes AS "terminalCodes", g.status, w.state AS "warningState"
         FROM group_sends g JOIN warnings w ON w.id = g.warning_id WHERE g.id = $1`,
      [groupSendId],
    );
    if (!g || !['queued', 'sending'].includes(g.status)) return;
    if (g.msgType !== 'cancel' && g.warningState !== 'active') {
      await this.db.query(
        `UPDATE group_sends SET status = 'cancelled' WHERE id = $1 AND status IN ('queued', 'sending')`,
        [g.id],
      );
      return;
    }
    const claimed = await rows(
      this.db,
      `UPDATE group_sends SET status = 'sending', tries = tries + 1, claimed_at = now() WHERE id = $1 AND status IN ('queued', 'sending') RETURNING id`,
      [g.id],
    );
    if (!claimed.length) return;
    try {
      const providerId =
        g.channel === 'broadcast' ? await this.sendBroadcast(g) : await this.sendRobot(g);
      await this.db.query(
        `UPDATE group_sends SET status = 'sent', provider_id = $2, sent_at = now() WHERE id = $1`,
        [g.id, providerId],
      );
    } catch (err) {
      const e =
        err instanceof ChannelError
          ? err
          : new ChannelError('transient', undefined, (err as Error).message);
      if ((e.kind === 'transient' || e.kind === 'rate_limited') && !lastTry) throw e;
      await this.db.query(
        `UPDATE group_sends SET status = 'failed', error_code = $2, error_message = left($3, 500), failed_at = now() WHERE id = $1`,
        [g.id, e.code ?? e.kind, e.message],
      );
      this.logger.warn(
        { groupSendId: g.id, channel: g.channel, code: e.code, kind: e.kind },
        'group send failed',
      );
    }
  }

  private async sendRobot(g: GroupSendRow): Promise<string> {
    const [robot] = await this.db.query(
      `SELECT code, platform, webhook_url_encrypted, secret_encrypted FROM group_robots WHERE code = $1`,
      [g.targetCode],
    );
    if (!robot)
      throw new ChannelError(
        'permanent',
        'robot_missing',
        `robot ${g.targetCode} is no longer in the directory`,
      );
    const version = await this.warnings.findVersion(g.warningId, g.version);
    if (!version) throw new ChannelError('permanent', undefined, 'version not found');
    const platform = g.channel as RobotPlatform;
    const mentions = await this.db.query<
      { name: string; mobile: string | null; userId: string | null; deliveryId: string }[]
    >(
      `SELECT p.name, d.id AS "deliveryId",
              (SELECT value FROM contact_points c WHERE c.person_id = p.id AND c.kind = 'mobile' ORDER BY priority LIMIT 1) AS mobile,
              (SELECT value FROM contact_points c WHERE c.person_id = p.id AND c.kind = $3 ORDER BY priority LIMIT 1) AS "userId"
         FROM people p JOIN deliveries d ON d.person_id = p.id AND d.warning_id = $2
        WHERE p.id = ANY($1::uuid[]) ORDER BY p.role, p.name`,
      [g.mentions, g.warningId, platform],
    );
    const message = this.renderer.robot(
      version.content,
      g.msgType,
      platform,
      mentions.map((m) => ({
        name: m.name,
        mobile: m.mobile ?? undefined,
        userId: m.userId ?? undefined,
        deliveryId: m.deliveryId,
      })),
    );
    const client = this.channels.robot(platform);
    const target = {
      code: robot.code,
      webhookUrl: this.secrets.decrypt(robot.webhook_url_encrypted),
      secret: robot.secret_encrypted ? this.secrets.decrypt(robot.secret_encrypted) : undefined,
    };
    let last = '';
    for (const part of message.messages) {
      const msg = { ...part, title: message.title };
      await this.limiter.acquireRobot(platform, robot.code, client.requestsFor(msg));
      const receipt = await this.breakers.run(`robot:${platform}`, () => client.send(target, msg));
      last = receipt.providerId;
    }
    return last;
  }

  private async sendBroadcast(g: GroupSendRow): Promise<string> {
    const version = await this.warnings.findVersion(g.warningId, g.version);
    if (!version) throw new ChannelError('permanent', undefined, 'version not found');
    const m = this.renderer.broadcast(version.content, g.msgType);
    const receipt = await this.breakers.run('broadcast', () =>
      this.channels.broadcast.send({
        taskRef: g.id,
        text: m.text,
        areaCodes: [g.targetCode],
        terminalCodes: g.terminalCodes,
        level: version.level,
        repeat: m.repeat,
        callbackUrl: this.urls.broadcastReceipts(),
      }),
    );
    return receipt.providerId;
  }
}
