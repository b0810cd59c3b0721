import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { Client, type Notification } from 'pg';
import { DataSource } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { CONSOLE_NOTIFY_CHANNEL } from '../../database/migrations/1765100000000-ConsoleNotify';
import type { Principal } from '../../common/auth/auth.decorators';
import { TokensService } from '../auth/tokens.service';
import { ChainStatsService } from '../escalation/chain-stats.service';
import { WarningsRepository } from '../warnings/warnings.repository';
import { WarningsService } from '../warnings/warnings.service';

/**
 * How long changes to one warning are gathered before its summary is read again: however many
 * notifications a fan-out or a wave of answers sends, a watched warning costs at most one summary
 * per this interval (and none while nothing changes).
 */
export const STREAM_DEBOUNCE_MS = 500;
/**
 * The summary is sent again this often even without a notification: a heartbeat for proxies and
 * a safety net for changes no trigger sees.
 */
export const STREAM_RESYNC_MS = 30_000;
/** While the LISTEN connection is down, watched warnings are polled this often instead. */
export const STREAM_FALLBACK_POLL_MS = 2_000;
/** How often an open stream checks its token again (still there, not revoked, same role and jurisdiction). */
export const STREAM_RECHECK_MS = 15_000;
/** The housekeeping tick: token rechecks due, resyncs due, fallback polling. */
const TICK_MS = 1_000;
/** A warning stays marked as watched this long after the last refresh (s). */
const WATCH_TTL_SECONDS = 120;
/** Watched warnings are marked again this often (ms). */
const WATCH_REFRESH_MS = 30_000;
/** Wait before opening the LISTEN connection again after it was lost. */
const RELISTEN_MS = 1_000;
/** The application_name of the LISTEN connection (to find it in pg_stat_activity). */
export const LISTEN_APPLICATION_NAME = 'warning-gateway-console-listen';

/** Why a stream was ended by the server (sent as `event: end` before closing). */
export type StreamEndReason = 'token_revoked' | 'token_changed' | 'not_visible';

interface StreamClient {
  /** The principal the stream was opened with. */
  principal: Principal;
  /** The recheck interval in force when the stream began. */
  every: number;
  /** When the token is due to be checked again. */
  checkAt: number;
  /** Set while the last token check could not run (database error): no frames until it can. */
  unverified: boolean;
}

interface Watch {
  clients: Map<Response, StreamClient>;
  /** The last summary frame sent: a viewer joining gets it at once. */
  last?: string;
  /** When the summary was last read. */
  readAt: number;
  /** A summary read is under way. */
  busy: boolean;
  /** A change arrived while a read was under way: read again after it. */
  dirty: boolean;
  /** The debounce timer of a pending read. */
  pending?: NodeJS.Timeout;
  /** A token check is under way. */
  checking: boolean;
}

/**
 * Live summaries of warnings for the console, pushed. Each process holds one Postgres connection
 * that LISTENs on `console_warning`; triggers (migration ConsoleNotify1765100000000) send the id of
 * each warning a statement changed. A notification for a watched warning schedules one read of
 * its summary after STREAM_DEBOUNCE_MS, shared by all its viewers and written to each of them:
 * fifty viewers cost what one does, and a 20,000-person fan-out costs a few reads, not 20,000.
 *
 * A viewer gets the full state on connect (the last frame, or a fresh read for the first viewer
 * of a warning) and again on every reconnect (EventSource opens a new stream). When the LISTEN
 * connection is lost, watched warnings are polled every STREAM_FALLBACK_POLL_MS until it is back,
 * and are all read again once it is (changes in between were not heard).
 *
 * The guard checks the token once, when the stream opens; the stream then outlives that check.
 * So each client's token is checked again every `recheckMs` (one token query for all clients due
 * of a warning): a token revoked, deleted or given another role or jurisdiction, or a warning no
 * longer visible to it, ends that client's stream with an `end` event. A client whose check could
 * not run (database error) gets no frames until it can.
 */
@Injectable()
export class ConsoleStreamService implements OnModuleDestroy {
  private readonly logger = new Logger(ConsoleStreamService.name);
  private readonly watches = new Map<string, Watch>();
  /** When watched warnings were last marked in Postgres. */
  private markedAt = 0;
  private tick?: NodeJS.Timeout;
  /** The LISTEN connection once it listens. */
  private listener?: Client;
  /** The connection being opened or listening (the one whose loss counts). */
  private current?: Client;
  private listening?: Promise<void>;
  private relisten?: NodeJS.Timeout;
  private destroyed = false;

  /** The recheck interval for streams opened from now on (tests shorten it). */
  recheckMs = STREAM_RECHECK_MS;
  /** How often a watched warning is sent again without a change (tests shorten it). */
  resyncMs = STREAM_RESYNC_MS;
  /** How long notifications for one warning are gathered before one read. */
  debounceMs = STREAM_DEBOUNCE_MS;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: WarningsRepository,
    private readonly stats: ChainStatsService,
    private readonly tokens: TokensService,
    private readonly warnings: WarningsService,
  ) {}

  /**
   * What the streams cost, for tests and metrics: `polls` summary reads (one per watched warning
   * per burst of changes, however many clients), `notifications` heard for watched warnings,
   * `listenConnects` LISTEN connections opened, one `tokenChecks` query per warning with clients
   * due and one `visibilityChecks` per distinct scope (role, jurisdiction, grid) due.
   */
  readonly counters = {
    polls: 0,
    notifications: 0,
    listenConnects: 0,
    tokenChecks: 0,
    visibilityChecks: 0,
  };

  /** Number of warnings watched (each read once per change, whatever the number of viewers). */
  get watched(): number {
    return this.watches.size;
  }

  /** Open LISTEN connections of this process: 1 while anything was watched, else 0. */
  get listenConnections(): number {
    return this.listener ? 1 : 0;
  }

  /** True while a read of some watched warning is pending (debounced) or under way. */
  get reading(): boolean {
    for (const w of this.watches.values()) if (w.busy || w.pending || w.dirty) return true;
    return false;
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
    const every = Math.max(0, this.recheckMs);
    const client: StreamClient = {
      principal,
      every,
      checkAt: Date.now() + every,
      unverified: false,
    };
    if (!watch) {
      const created: Watch = {
        clients: new Map(),
        readAt: Date.now(),
        busy: false,
        dirty: false,
        checking: false,
      };
      this.watches.set(warningId, created);
      watch = created;
      watch.clients.set(res, client);
      // The full state at once. When the LISTEN connection is still being opened, read again once
      // it listens: a change committed in between is not lost.
      const listening = !!this.listener;
      void this.read(warningId);
      // Triggers notify only about watched warnings: once this one is marked, read it again so
      // that a change committed before the mark is not lost.
      void this.markWatched([warningId]).then(() => this.changed(warningId));
      if (!listening) void this.listen().then(() => this.changed(warningId));
    } else {
      watch.clients.set(res, client);
      if (watch.last) res.write(watch.last);
    }
    this.startTick();
    res.on('close', () => this.unsubscribe(warningId, res));
  }

  private unsubscribe(warningId: string, res: Response): void {
    const watch = this.watches.get(warningId);
    if (!watch) return;
    watch.clients.delete(res);
    if (watch.clients.size === 0) {
      clearTimeout(watch.pending);
      this.watches.delete(warningId);
    }
    if (!this.watches.size && this.tick) {
      clearInterval(this.tick);
      this.tick = undefined;
    }
  }

  private startTick(): void {
    if (this.tick) return;
    this.tick = setInterval(() => this.housekeeping(), TICK_MS);
    this.tick.unref?.();
  }

  /** Token rechecks due; a read for warnings not sent for resyncMs (or polled while not listening). */
  private housekeeping(): void {
    const now = Date.now();
    if (now - this.markedAt >= WATCH_REFRESH_MS) void this.markWatched([...this.watches.keys()]);
    const every = this.listener ? this.resyncMs : Math.min(this.resyncMs, STREAM_FALLBACK_POLL_MS);
    for (const [id, watch] of this.watches) {
      if (!watch.checking && [...watch.clients.values()].some((c) => c.checkAt <= now)) {
        void this.recheck(id, watch);
      }
      if (!watch.busy && !watch.pending && now - watch.readAt >= every) void this.read(id);
    }
  }

  /**
   * Marks warnings as watched in Postgres (`console_watches`, for WATCH_TTL_SECONDS): the triggers
   * send a notification only for a watched warning, so that a warning nobody watches costs its
   * transactions nothing (a NOTIFY serialises commits on Postgres's notification queue lock).
   */
  private async markWatched(ids: string[]): Promise<void> {
    if (!ids.length) return;
    this.markedAt = Date.now();
    await this.db
      .query(
        `INSERT INTO console_watches (warning_id, until)
         SELECT unnest($1::uuid[]), now() + make_interval(secs => $2)
         ON CONFLICT (warning_id) DO UPDATE SET until = excluded.until`,
        [ids, WATCH_TTL_SECONDS],
      )
      .catch((err: unknown) => this.logger.warn({ err }, 'could not mark watched warnings'));
  }

  /* ---------- LISTEN ---------- */

  /** Opens the process's LISTEN connection once; resolves when it listens (or could not). */
  private listen(): Promise<void> {
    if (this.listening) return this.listening;
    if (this.destroyed) return Promise.resolve();
    const url = (this.db.options as { url?: string }).url;
    const client = new Client({ connectionString: url, application_name: LISTEN_APPLICATION_NAME });
    client.on('notification', (msg: Notification) => this.heard(msg));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    this.current = client;
    this.listening = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${CONSOLE_NOTIFY_CHANNEL}`);
        if (this.destroyed) {
          await client.end();
          return;
        }
        this.listener = client;
        this.counters.listenConnects++;
        // Changes made while nobody listened were not heard: read every watched warning again.
        if (this.counters.listenConnects > 1)
          for (const id of this.watches.keys()) this.changed(id);
      } catch (err) {
        this.lost(client, err);
      }
    })();
    return this.listening;
  }

  /** The LISTEN connection failed or ended: drop it and open another while anything is watched. */
  private lost(client: Client, err?: unknown): void {
    if (this.current !== client) return;
    if (err) this.logger.warn({ err }, 'console LISTEN connection lost');
    this.current = undefined;
    this.listener = undefined;
    this.listening = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.destroyed || this.relisten) return;
    this.relisten = setTimeout(() => {
      this.relisten = undefined;
      if (this.watches.size) void this.listen();
    }, RELISTEN_MS);
    this.relisten.unref?.();
  }

  private heard(msg: Notification): void {
    if (msg.channel !== CONSOLE_NOTIFY_CHANNEL || !msg.payload) return;
    if (!this.watches.has(msg.payload)) return;
    this.counters.notifications++;
    this.changed(msg.payload);
  }

  /** A watched warning changed: read it once after debounceMs (later changes join that read). */
  private changed(warningId: string): void {
    const watch = this.watches.get(warningId);
    if (!watch) return;
    if (watch.busy) {
      watch.dirty = true;
      return;
    }
    if (watch.pending) return;
    watch.pending = setTimeout(() => {
      watch.pending = undefined;
      void this.read(warningId);
    }, this.debounceMs);
    watch.pending.unref?.();
  }

  /* ---------- reading and writing ---------- */

  private async read(warningId: string): Promise<void> {
    const watch = this.watches.get(warningId);
    if (!watch) return;
    if (watch.busy) {
      watch.dirty = true;
      return;
    }
    watch.busy = true;
    watch.dirty = false;
    watch.readAt = Date.now();
    try {
      this.counters.polls++;
      const summary = await this.summary(warningId);
      const frame = `event: summary\ndata: ${JSON.stringify(summary)}\n\n`;
      watch.last = frame;
      for (const [res, client] of watch.clients) if (!client.unverified) res.write(frame);
    } catch (err) {
      this.logger.warn({ err, warningId }, 'console summary failed');
      for (const res of watch.clients.keys()) res.write(`: error\n\n`);
    } finally {
      watch.busy = false;
      if (watch.dirty && this.watches.get(warningId) === watch) this.changed(warningId);
    }
  }

  /**
   * Checks the tokens of the clients that are due; ends the streams that no longer pass. Clients
   * whose check failed to run stay connected (a database blip must not end every stream) but get
   * no frame until a check succeeds.
   */
  private async recheck(warningId: string, watch: Watch): Promise<void> {
    const now = Date.now();
    const due = [...watch.clients].filter(([, c]) => c.checkAt <= now);
    if (!due.length) return;
    watch.checking = true;
    try {
      this.counters.tokenChecks++;
      const current = await this.tokens.activePrincipals(due.map(([, c]) => c.principal.tokenId));
      // The visibility rule depends only on the scope, not on the client: one check per scope.
      const visible = new Map<string, Promise<boolean>>();
      for (const [res, client] of due) {
        const reason = await this.refusal(warningId, client.principal, current, visible);
        if (reason) {
          this.end(warningId, res, reason);
          continue;
        }
        client.checkAt = Date.now() + client.every;
        if (client.unverified) {
          client.unverified = false;
          if (watch.last && !res.writableEnded) res.write(watch.last);
        }
      }
    } catch (err) {
      this.logger.warn({ err, warningId }, 'console stream token check failed');
      for (const [, client] of due) client.unverified = true;
    } finally {
      watch.checking = false;
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

  async onModuleDestroy(): Promise<void> {
    this.destroyed = true;
    clearInterval(this.tick);
    clearTimeout(this.relisten);
    for (const watch of this.watches.values()) {
      clearTimeout(watch.pending);
      for (const res of watch.clients.keys()) res.end();
    }
    this.watches.clear();
    const client = this.current;
    this.current = undefined;
    this.listener = undefined;
    this.listening = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
