import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { ChainStatsService } from '../escalation/chain-stats.service';
import { WarningsRepository } from '../warnings/warnings.repository';

export const STREAM_INTERVAL_MS = 2000;

interface Watch {
  clients: Set<Response>;
  timer: NodeJS.Timeout;
  last?: string;
  busy: boolean;
}

/**
 * Live summaries of warnings for the console. One timer per watched warning, shared by all its
 * clients: N browsers watching one warning cost one set of queries every 2 s, not N.
 */
@Injectable()
export class ConsoleStreamService implements OnModuleDestroy {
  private readonly logger = new Logger(ConsoleStreamService.name);
  private readonly watches = new Map<string, Watch>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: WarningsRepository,
    private readonly stats: ChainStatsService,
  ) {}

  /** Number of shared timers running (one per watched warning). */
  get timers(): number {
    return this.watches.size;
  }

  subscribe(warningId: string, res: Response): void {
    let watch = this.watches.get(warningId);
    if (!watch) {
      const created: Watch = {
        clients: new Set(),
        busy: false,
        timer: setInterval(() => void this.tick(warningId), STREAM_INTERVAL_MS),
      };
      created.timer.unref?.();
      this.watches.set(warningId, created);
      watch = created;
      void this.tick(warningId);
    } else if (watch.last) {
      res.write(watch.last);
    }
    watch.clients.add(res);
    res.on('close', () => this.unsubscribe(warningId, res));
  }

  private unsubscribe(warningId: string, res: Response): void {
    const watch = this.watches.get(warningId);
    if (!watch) return;
    watch.clients.delete(res);
    if (watch.clients.size === 0) {
      clearInterval(watch.timer);
      this.watches.delete(warningId);
    }
  }

  private async tick(warningId: string): Promise<void> {
    const watch = this.watches.get(warningId);
    if (!watch || watch.busy) return;
    watch.busy = true;
    try {
      const summary = await this.summary(warningId);
      const frame = `event: summary\ndata: ${JSON.stringify(summary)}\n\n`;
      watch.last = frame;
      for (const res of watch.clients) res.write(frame);
    } catch (err) {
      this.logger.warn({ err, warningId }, 'console summary failed');
      for (const res of watch.clients) res.write(`: error\n\n`);
    } finally {
      watch.busy = false;
    }
  }

  /** What GET /v1/warnings/:id shows of the landing, plus the township → village → grid table. */
  async summary(warningId: string) {
    const w = await this.repo.findWarning(warningId);
    const [deliveries, responses, table] = await Promise.all([
      this.repo.deliveryCounts(warningId),
      this.stats.summary(warningId),
      this.table(warningId),
    ]);
    return {
      id: warningId,
      state: w?.state,
      kind: w?.kind,
      at: new Date().toISOString(),
      dispatch: { fanoutDone: !!w?.fanoutDoneAt, deliveries },
      responses,
      table,
    };
  }

  private async table(warningId: string) {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT left(d.division_code, 9) AS "townshipCode", t.name AS "township",
              d.division_code AS "villageCode", v.name AS "village",
              d.grid_code AS "gridCode", g.name AS "grid",
              count(*)::int AS total,
              count(*) FILTER (WHERE d.state = 'confirmed')::int AS confirmed,
              count(*) FILTER (WHERE d.state IN ('delivered', 'heard', 'confirmed', 'declined'))::int AS reached,
              count(*) FILTER (WHERE d.state = 'declined')::int AS help,
              count(*) FILTER (WHERE d.state = 'unreachable')::int AS unreachable
         FROM deliveries d
         LEFT JOIN divisions t ON t.code = left(d.division_code, 9)
         LEFT JOIN divisions v ON v.code = d.division_code
         LEFT JOIN grids g ON g.code = d.grid_code
        WHERE d.warning_id = $1
        GROUP BY 1, 2, 3, 4, 5, 6
        ORDER BY 1, 3, 5 NULLS FIRST
        LIMIT 5000`,
      [warningId],
    );
    return rows;
  }

  onModuleDestroy(): void {
    for (const watch of this.watches.values()) {
      clearInterval(watch.timer);
      for (const res of watch.clients) res.end();
    }
    this.watches.clear();
  }
}
