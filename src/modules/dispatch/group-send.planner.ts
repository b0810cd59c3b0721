import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ChannelKind } from '../../channels/channel.types';
import type { VersionRow } from '../warnings/warnings.repository';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';

/**
 * Group channels: one robot message per group robot whose grid, village or township holds
 * recipients (mentioning the responsible persons there), and, for orange and above or imminent
 * warnings that reach the public, one broadcast task per village with loudspeakers.
 *
 * An update that drops a group's area (a robot's grid or division, a loudspeaker's village: no
 * area, hazard point or risk zone of the new version at, above or below it) sends that group a
 * release (msg type cancel in the update's version) saying that its own area is no longer in
 * the warning, with the level it had (SendGroupService renders it); a group whose area is still
 * (partly) under the warning but is no longer addressed (e.g. loudspeakers after a lowering to
 * yellow) hears nothing, since no text could be true for all of it. A group released so does not
 * hear the later cancel.
 */
@Injectable()
export class GroupSendPlanner {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: DispatchQueue,
  ) {}

  async plan(v: VersionRow, priority: number): Promise<void> {
    const msgType = v.version === 1 ? 'alert' : 'update';
    await this.db.query(
      `INSERT INTO group_sends (warning_id, version, msg_type, channel, target_code, mentions)
       SELECT $1, $2, $3, r.platform, r.code,
              coalesce(array_agg(DISTINCT d.person_id) FILTER (
                WHERE d.role <> 'resident' AND (r.grid_code IS NOT NULL OR d.grid_code IS NULL)), '{}')
         FROM group_robots r
         JOIN deliveries d ON d.warning_id = $1 AND d.version = $2 AND d.state <> 'cancelled'
          AND ((r.grid_code IS NOT NULL AND d.grid_code = r.grid_code)
               OR (r.grid_code IS NULL AND starts_with(d.division_code, r.division_code)))
        GROUP BY r.code, r.platform
       ON CONFLICT DO NOTHING`,
      [v.warningId, v.version, msgType],
    );
    const urgent = v.content.kind === 'imminent' || v.level === 'red' || v.level === 'orange';
    // The public loudspeakers: never for a test (it reaches responsible persons only).
    if (urgent && v.audience.includes('resident') && v.content.status !== 'test') {
      await this.db.query(
        `INSERT INTO group_sends (warning_id, version, msg_type, channel, target_code, terminal_codes)
         SELECT $1, $2, $3, 'broadcast', t.division_code, array_agg(t.code ORDER BY t.code)
           FROM broadcast_terminals t
          WHERE t.division_code IN (SELECT DISTINCT division_code FROM deliveries
                                     WHERE warning_id = $1 AND version = $2 AND state <> 'cancelled')
          GROUP BY t.division_code
         ON CONFLICT DO NOTHING`,
        [v.warningId, v.version, msgType],
      );
    }
    if (v.version > 1) await this.planDropped(v);
    await this.enqueueQueued(v, priority);
  }

  /** Update: groups that heard an earlier version and whose own area the update dropped. */
  private async planDropped(v: VersionRow): Promise<void> {
    await this.db.query(
      `WITH heard AS (
         SELECT DISTINCT ON (g.channel, g.target_code) g.channel, g.target_code, g.terminal_codes, g.msg_type
           FROM group_sends g WHERE g.warning_id = $1 AND g.version < $2 AND g.status = 'sent'
          ORDER BY g.channel, g.target_code, g.version DESC),
       warned AS (
         SELECT unnest($3::text[]) AS code
         UNION SELECT s.division_code::text FROM hazard_sites s WHERE s.code = ANY ($4::text[])
         UNION SELECT hg.grid_code::text FROM hazard_site_grids hg WHERE hg.site_code = ANY ($4::text[])),
       targets AS (
         SELECT h.*, CASE WHEN h.channel = 'broadcast' THEN h.target_code
                          ELSE coalesce(r.grid_code, r.division_code)::text END AS area
           FROM heard h LEFT JOIN group_robots r ON h.channel <> 'broadcast' AND r.code = h.target_code
          WHERE h.msg_type <> 'cancel')
       INSERT INTO group_sends (warning_id, version, msg_type, channel, target_code, terminal_codes)
       SELECT $1, $2, 'cancel', t.channel, t.target_code, t.terminal_codes
         FROM targets t
        WHERE t.area IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM group_sends n WHERE n.warning_id = $1 AND n.version = $2
                             AND n.channel = t.channel AND n.target_code = t.target_code)
          AND NOT EXISTS (SELECT 1 FROM warned w
                           WHERE starts_with(t.area, w.code) OR starts_with(w.code, t.area))
       ON CONFLICT DO NOTHING`,
      [v.warningId, v.version, v.areas, [...v.hazardPoints, ...v.riskZones]],
    );
  }

  /**
   * Cancel: every group that heard the warning hears the release, except a group an update
   * already released (its area dropped): its last send was a release.
   */
  async planCancel(v: VersionRow, priority: number): Promise<void> {
    await this.db.query(
      `INSERT INTO group_sends (warning_id, version, msg_type, channel, target_code, terminal_codes)
       SELECT $1, $2, 'cancel', channel, target_code, terminal_codes
         FROM (SELECT DISTINCT ON (channel, target_code) channel, target_code, terminal_codes, msg_type
                 FROM group_sends WHERE warning_id = $1 AND version < $2 AND status = 'sent'
                ORDER BY channel, target_code, version DESC) heard
        WHERE msg_type <> 'cancel'
       ON CONFLICT DO NOTHING`,
      [v.warningId, v.version],
    );
    await this.enqueueQueued(v, priority);
  }

  private async enqueueQueued(v: VersionRow, priority: number): Promise<void> {
    const rows = await this.db.query<{ id: string; channel: ChannelKind }[]>(
      `SELECT id, channel FROM group_sends WHERE warning_id = $1 AND version = $2 AND status = 'queued'`,
      [v.warningId, v.version],
    );
    await this.queue.enqueueGroupSends(rows.map((r) => ({ ...r, priority })));
  }
}
