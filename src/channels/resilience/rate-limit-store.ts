import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { ensureRateLimitTable, type RateLimitStore } from './provider-rate-limiter';

/** Where the shared rate-limit counters live, as configuration. */
export type RateLimitStoreConfig =
  | { kind: 'redis'; url: string }
  | { kind: 'postgres'; connectionString: string }
  | { kind: 'memory' };

/** An opened store and how to close it (closed by ChannelsModule on shutdown). */
export class RateLimitStoreHandle {
  private closed = false;

  private constructor(
    readonly store: RateLimitStore,
    private readonly closeFn: () => Promise<void>,
  ) {}

  /**
   * Opens the store: a Redis connection of its own (commands fail fast while Redis is down, so
   * the limiter falls back to counting in-process instead of hanging a send), or a small pg pool
   * and the `channel_rate_limits` table.
   */
  static async open(config: RateLimitStoreConfig): Promise<RateLimitStoreHandle> {
    switch (config.kind) {
      case 'redis': {
        const client = new Redis(config.url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectionName: 'channels-rate-limit',
        });
        client.on('error', () => undefined); // reconnects by itself; the limiter falls back meanwhile
        await client.connect();
        return new RateLimitStoreHandle({ kind: 'redis', client }, async () => {
          await client.quit().catch(() => client.disconnect());
        });
      }
      case 'postgres': {
        const pool = new Pool({
          connectionString: config.connectionString,
          max: 4,
          application_name: 'channels-rate-limit',
        });
        pool.on('error', () => undefined); // an idle client's failure; the next query reconnects
        try {
          await ensureRateLimitTable(pool);
        } catch (err) {
          await pool.end().catch(() => undefined);
          throw err;
        }
        return new RateLimitStoreHandle({ kind: 'postgres', pool }, () => pool.end());
      }
      case 'memory':
        return new RateLimitStoreHandle({ kind: 'memory' }, () => Promise.resolve());
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeFn();
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }
}
