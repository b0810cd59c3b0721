import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import type { Principal } from '../auth/auth.decorators';
import { TokensService } from '../auth/tokens.service';
import { ChainStatsService } from '../escalation/chain-stats.service';
import { WarningsRepository } from '../warnings/warnings.repository';
import { WarningsService } from '../warnings/warnings.service';

export const STREAM_INTERVAL_MS = 2000;
/** How often an open stream checks its token again (still there, not revoked, same role and jurisdiction). */
export const STREAM_RECHECK_MS = 15_000;

/** Why a stream was ended by the server (sent as `event: end` before closing). */
export type StreamEndReason = 'token_revoked' | 'token_changed' | 'not_visible';

interface Client {
  /** The principal the stream was opened with. */
  principal: Principal;
  /** The recheck interval in force when the stream began. */
  every: number;
  /** When the token is due to be checked again. */
  checkAt: number;
}

interface Watch {
  clients: Map<Response, Client>;
  timer: NodeJS.Timeout;
  last?: string;
  busy: boolean;
}

/**
 * Live summaries of warnings for the console. One timer per watched warning, shared by all its
 * clients: N browsers watching one warning cost one set of queries every 2 s, not N.
 *
 * The guard checks the token once, when the stream opens; the stream then outlives that check.
 * So each client's token is checked again every `recheckMs` (on the shared tick, before the frame
 * is written, one token query for all clients due): a token revoked, deleted or given another
 * role or jurisdiction, or a warning no longer visible to it, ends that client's stream with an
 * `end` event. A client whose check could not run (database error) gets no frames until it can.
 */
@Injectable()
export class ConsoleStreamService implements OnModuleDestroy {
  private readonly logger = new Logger(ConsoleStreamService.name);
  private readonly watches = new Map<string, Watch>();
  /** The recheck interval for streams opened from now on (tests shorten it). */
  recheckMs = STREAM_RECHECK_MS;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: WarningsRepository,
    private readonly stats: ChainStatsService,
    private readonly tokens: TokensService,
    private readonly warnings: WarningsService,
  ) {}

  /**
   * What the streams cost the database, for tests and metrics: one `poll` (the summary's
   * queries) per watched warning per interval, one `tokenChecks` query per tick with clients due,
   * and one `visibilityChecks` per distinct scope (role, jurisdiction, grid) due, however many
   * clients are open.
   */
  readonly counters = { polls: 0, tokenChecks: 0, visibilityChecks: 0 };

  /** Number of shared timers running (one per watched warning). */
  get timers(): number {
    return this.watches.size;
  }

  /** Number of open streams (all warnings). */
  get clients(): number {
    let n = 0;
    for (const w of this.watches.values()) n += w.clients.size;
    return n;
  }

  /** Adds a client whose principal has just been authenticated and allowed to see the warning. */
  subscribe(warningId: string, res: Response, principal: Principal): void {
    let watch = this.watches.get(warningId);
    if (!watch) {
      const created: Watch = {
        clients: new Map(),
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
    const every = Math.max(0, this.recheckMs);
    watch.clients.set(res, { principal, every, checkAt: Date.now() + every });
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
      const unverified = await this.recheck(warningId, watch);
      if (!watch.clients.size) return;
      try {
        this.counters.polls++;
        const summary = await this.summary(warningId);
        const frame = `event: summary\ndata: ${JSON.stringify(summary)}\n\n`;
        watch.last = frame;
        for (const res of watch.clients.keys()) if (!unverified.has(res)) res.write(frame);
      } catch (err) {
        this.logger.warn({ err, warningId }, 'console summary failed');
        for (const res of watch.clients.keys()) res.write(`: error\n\n`);
      }
    } finally {
      watch.busy = false;
    }
  }

  /**
   * Checks the tokens of the clients that are due; ends the streams that no longer pass. Returns
   * the clients whose check failed to run: they stay connected (a database blip must not end
   * every stream) but get no frame until a check succeeds.
   */
  private async recheck(warningId: string, watch: Watch): Promise<Set<Response>> {
    const now = Date.now();
    const due = [...watch.clients].filter(([, c]) => c.checkAt <= now);
    if (!due.length) return new Set();
    try {
      this.counters.tokenChecks++;
      const current = await this.tokens.activePrincipals(due.map(([, c]) => c.principal.tokenId));
      // The visibility rule depends only on the scope, not on the client: one check per scope.
      const visible = new Map<string, Promise<boolean>>();
      for (const [res, client] of due) {
        const reason = await this.refusal(warningId, client.principal, current, visible);
        if (reason) this.end(warningId, res, reason);
        else client.checkAt = Date.now() + client.every;
      }
      return new Set();
    } catch (err) {
      this.logger.warn({ err, warningId }, 'console stream token check failed');
      return new Set(due.filter(([res]) => watch.clients.has(res)).map(([res]) => res));
    }
  }

  /** Why a stream opened by `opened` may no longer go on, or null when it may. */
  private async refusal(
    warningId: string,
    opened: Principal,
    current: Map<string, Principal>,
    visible: Map<string, Promise<boolean>>,
  ): Promise<StreamEndReason | null> {
    const now = current.get(opened.tokenId);
    if (!now) return 'token_revoked';
    if (
      now.role !== opened.role ||
      now.jurisdiction !== opened.jurisdiction ||
      now.gridCode !== opened.gridCode
    ) {
      return 'token_changed';
    }
    const scope = `${now.role}|${now.jurisdiction ?? ''}|${now.gridCode ?? ''}`;
    let check = visible.get(scope);
    if (!check) {
      check = this.isVisible(now, warningId);
      visible.set(scope, check);
    }
    return (await check) ? null : 'not_visible';
  }

  /** The same visibility rule as when the stream was opened. */
  private async isVisible(principal: Principal, warningId: string): Promise<boolean> {
    this.counters.visibilityChecks++;
    try {
      await this.warnings.findVisible(principal, warningId);
      return true;
    } catch (err) {
      if (err instanceof AppException && err.code === ErrorCode.NotFound) return false;
      throw err;
    }
  }

  private end(warningId: string, res: Response, reason: StreamEndReason): void {
    this.unsubscribe(warningId, res);
    if (res.writableEnded || res.destroyed) return;
    res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
    res.end();
  }

  /** What GET /v1/warnings/:id shows of the landing, plus the township → village → grid table. */
  async summary(warningId: string) {
    const w = await this.repo.findWarning(warningId);
    const [deliveries, responses, table, broadcasts] = await Promise.all([
      this.repo.deliveryCounts(warningId),
      this.stats.summary(warningId),
      this.table(warningId),
      this.broadcasts(warningId),
    ]);
    return {
      id: warningId,
      state: w?.state,
      kind: w?.kind,
      at: new Date().toISOString(),
      dispatch: { fanoutDone: !!w?.fanoutDoneAt, deliveries },
      responses,
      table,
      broadcasts,
    };
  }

  /** Loudspeaker playback receipts per village (latest version's broadcasts): played, failed, none yet. */
  private async broadcasts(warningId: string) {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT gs.target_code AS "villageCode", v.name AS village,
              count(*)::int AS terminals,
              count(*) FILTER (WHERE r.status = 'played')::int AS played,
              count(*) FILTER (WHERE r.status IS NOT NULL AND r.status <> 'played')::int AS failed,
              count(*) FILTER (WHERE r.status IS NULL)::int AS waiting
         FROM group_sends gs
         CROSS JOIN LATERAL unnest(gs.terminal_codes) AS t(code)
         LEFT JOIN broadcast_receipts r ON r.group_send_id = gs.id AND r.terminal_code = t.code
         LEFT JOIN divisions v ON v.code = gs.target_code
        WHERE gs.warning_id = $1 AND gs.channel = 'broadcast'
          AND (gs.version, gs.msg_type) = (SELECT version, msg_type FROM group_sends
                                            WHERE warning_id = $1 AND channel = 'broadcast' AND target_code = gs.target_code
                                            ORDER BY version DESC, msg_type = 'cancel' DESC LIMIT 1)
        GROUP BY 1, 2 ORDER BY 1 LIMIT 2000`,
      [warningId],
    );
    return rows;
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
      for (const res of watch.clients.keys()) res.end();
    }
    this.watches.clear();
  }
}
