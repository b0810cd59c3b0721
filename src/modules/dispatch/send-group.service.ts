import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
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
import type { RobotPlatform } from '../../common/domain/directory.types';
import type { MessageType } from '../../common/domain/warning.types';
import { WarningsRepository } from '../warnings/warnings.repository';
import { claimFree, claimLeaseSeconds, heldClaim, letGoClaim } from '../chain/send-claims';
import { type DroppedArea, MessageRenderer } from './message-renderer';

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
  currentVersion: number;
}

/** Sends one robot message (all its parts) or one broadcast task. */
export type GroupSendOutcome =
  | { kind: 'sent' | 'skipped' | 'failed' }
  /** The provider's circuit is open: nothing was sent; try again after `delayMs`. */
  | { kind: 'deferred'; delayMs: number }
  /** Accepted by the provider but not recorded: record it later, never send it again. */
  | { kind: 'unrecorded'; accepted: { providerId: string } };

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
    config: ConfigService,
  ) {
    this.leaseSeconds = claimLeaseSeconds(config);
  }

  /** SEND_CLAIM_LEASE_SECONDS: how long a run's claim holds while the run is silent. */
  private readonly leaseSeconds: number;

  /**
   * The claim was not taken: done (or stopped), or held by another run of the job (its lock ran
   * out while the first run lived), which is waited out: a robot cannot be asked what it has.
   */
  private async claimRefused(id: string): Promise<GroupSendOutcome> {
    const held = await heldClaim(this.db, 'group_sends', id, this.leaseSeconds);
    if (held?.status !== 'sending') return { kind: 'skipped' };
    this.logger.warn({ groupSendId: id }, 'group send held by another run of its job; waiting');
    return { kind: 'deferred', delayMs: Math.max(held.waitMs, 1000) };
  }

  /** A run ends without a result: the next run takes its claim at once. */
  private async letGo(id: string, token: string): Promise<void> {
    await letGoClaim(this.db, 'group_sends', id, token).catch((err: unknown) =>
      this.logger.warn({ groupSendId: id, err }, 'could not let go of a group send claim'),
    );
  }

  /**
   * `accepted`: the provider's id of this group send that an earlier try could not record (kept
   * in the job): it is recorded now, and nothing is sent again.
   */
  async send(
    groupSendId: string,
    lastTry: boolean,
    accepted?: { providerId: string },
  ): Promise<GroupSendOutcome> {
    if (accepted) return this.recordSent(groupSendId, accepted.providerId);
    const [g] = await this.db.query<GroupSendRow[]>(
      `SELECT g.id, g.warning_id AS "warningId", g.version, g.msg_type AS "msgType", g.channel, g.target_code AS "targetCode",
              g.mentions, g.terminal_codes AS "terminalCodes", g.status, w.state AS "warningState",
              w.current_version AS "currentVersion"
         FROM group_sends g JOIN warnings w ON w.id = g.warning_id WHERE g.id = $1`,
      [groupSendId],
    );
    if (!g || !['queued', 'sending'].includes(g.status)) return { kind: 'skipped' };
    // A message of an earlier version still waiting when an update (or the cancel) came says
    // what is no longer true: the current version's own message for the group replaces it.
    const superseded = g.version < g.currentVersion;
    if (superseded || (g.msgType !== 'cancel' && g.warningState !== 'active')) {
      await this.db.query(
        `UPDATE group_sends SET status = 'cancelled', error_code = $2 WHERE id = $1 AND status IN ('queued', 'sending')`,
        [g.id, superseded ? 'superseded' : null],
      );
      return { kind: 'skipped' };
    }
    // This run's claim: a second run of the same job leaves it alone while this run lives.
    const token = randomUUID();
    const claimed = await rows(
      this.db,
      `UPDATE group_sends g SET status = 'sending', tries = g.tries + 1, claimed_at = now(), claim_token = $2
        WHERE g.id = $1 AND g.status IN ('queued', 'sending') AND ${claimFree('g', '$3')} RETURNING g.id`,
      [g.id, token, this.leaseSeconds],
    );
    if (!claimed.length) return this.claimRefused(g.id);
    let providerId: string;
    try {
      providerId =
        g.channel === 'broadcast' ? await this.sendBroadcast(g) : await this.sendRobot(g);
    } catch (err) {
      const e =
        err instanceof ChannelError
          ? err
          : new ChannelError('transient', undefined, (err as Error).message);
      if (e.kind === 'circuit_open') {
        // The provider's circuit is open: nothing was sent; the send waits, no try spent.
        await this.db.query(
          `UPDATE group_sends SET status = 'queued', tries = greatest(tries - 1, 0), claim_token = NULL
            WHERE id = $1 AND status = 'sending' AND claim_token = $2`,
          [g.id, token],
        );
        return { kind: 'deferred', delayMs: Math.max(e.retryAfterMs ?? 0, 1000) };
      }
      if ((e.kind === 'transient' || e.kind === 'rate_limited') && !lastTry) {
        await this.letGo(g.id, token);
        throw e;
      }
      await this.db.query(
        `UPDATE group_sends SET status = 'failed', error_code = $2, error_message = left($3, 500), failed_at = now() WHERE id = $1`,
        [g.id, e.code ?? e.kind, e.message],
      );
      this.logger.warn(
        { groupSendId: g.id, channel: g.channel, code: e.code, kind: e.kind },
        'group send failed',
      );
      return { kind: 'failed' };
    }
    // Accepted: from here on nothing sends it again; an error is a recording problem.
    const out = await this.recordSent(g.id, providerId);
    if (out.kind === 'unrecorded') await this.letGo(g.id, token);
    return out;
  }

  /** Records an accepted group send, trying a few times; else hands the id back to the job. */
  private async recordSent(id: string, providerId: string): Promise<GroupSendOutcome> {
    for (let i = 1; ; i++) {
      try {
        await this.db.query(
          `UPDATE group_sends SET status = 'sent', provider_id = $2, sent_at = coalesce(sent_at, now())
            WHERE id = $1 AND status IN ('queued', 'sending')`,
          [id, providerId],
        );
        return { kind: 'sent' };
      } catch (err) {
        this.logger.warn({ groupSendId: id, try: i, err }, 'recording a group send failed');
        if (i >= 3) return { kind: 'unrecorded', accepted: { providerId } };
        await new Promise((r) => setTimeout(r, 200 * 2 ** i));
      }
    }
  }

  /**
   * A release (msg type cancel) in an update's version went to a group whose area the update
   * dropped (GroupSendPlanner.planDropped): the group's own area (a robot's grid or division, a
   * loudspeaker's village) and the level of the last version it heard. Undefined otherwise.
   */
  private async droppedArea(
    g: GroupSendRow,
    versionMsgType: MessageType,
  ): Promise<DroppedArea | undefined> {
    if (g.msgType !== 'cancel' || versionMsgType === 'cancel') return undefined;
    const [row] = await this.db.query<{ place: string | null; level: DroppedArea['level'] }[]>(
      `SELECT CASE WHEN $3 = 'broadcast' THEN (SELECT name FROM divisions WHERE code = $4)
                   ELSE (SELECT coalesce(gr.name, dv.name) FROM group_robots r
                           LEFT JOIN grids gr ON gr.code = r.grid_code
                           LEFT JOIN divisions dv ON dv.code = r.division_code
                          WHERE r.code = $4) END AS place,
              (SELECT v.level FROM group_sends h JOIN warning_versions v
                      ON v.warning_id = h.warning_id AND v.version = h.version
                WHERE h.warning_id = $1 AND h.version < $2 AND h.channel = $3 AND h.target_code = $4
                  AND h.status = 'sent' AND h.msg_type <> 'cancel'
                ORDER BY h.version DESC LIMIT 1) AS level`,
      [g.warningId, g.version, g.channel, g.targetCode],
    );
    if (!row?.level) return undefined;
    return { places: [row.place ?? g.targetCode], level: row.level };
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
      await this.droppedArea(g, version.msgType),
      await this.warnings.previousOf(version),
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
    const dropped = await this.droppedArea(g, version.msgType);
    const previous = await this.warnings.previousOf(version);
    const m = this.renderer.broadcast(version.content, g.msgType, dropped, previous);
    const receipt = await this.breakers.run('broadcast', () =>
      this.channels.broadcast.send({
        taskRef: g.id,
        text: m.text,
        areaCodes: [g.targetCode],
        terminalCodes: g.terminalCodes,
        // A dropped village's release is about the level it had, not the update's.
        level: dropped?.level ?? version.level,
        repeat: m.repeat,
        callbackUrl: this.urls.broadcastReceipts(),
      }),
    );
    return receipt.providerId;
  }
}
