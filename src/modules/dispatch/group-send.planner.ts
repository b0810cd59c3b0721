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
    await this.enqueueQueued(v, priority);
  }

  /** Cancel: every group that heard the warning hears the release. */
  async planCancel(v: VersionRow, priority: number): Promise<void> {
    await this.db.query(
      `INSERT INTO group_sends (warning_id, version, msg_type, channel, target_code, terminal_codes)
       SELECT DISTINCT ON (channel, target_code) $1, $2, 'cancel', channel, target_code, terminal_codes
         FROM group_sends WHERE warning_id = $1 AND version < $2 AND status = 'sent'
         ORDER BY channel, target_code, version DESC
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
