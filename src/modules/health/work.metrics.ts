import { AllQueues } from '../../common/queue/all-queues';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { WorkHealthIndicator } from './work.health';

/**
 * What an operator watches of the work, read at scrape time from Postgres (the record every
 * process shares) and the queue backend: deliveries by state and attempts by channel and status
 * on active warnings, sends waiting and how long, late 叫应 timers, and each queue's jobs by state.
 */
@Injectable()
export class WorkMetrics implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queues: AllQueues,
    private readonly work: WorkHealthIndicator,
  ) {}

  onModuleInit(): void {
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      collect: (g: Gauge) => Promise<void>,
    ) => {
      if (register.getSingleMetric(name)) register.removeSingleMetric(name);
      new Gauge({
        name,
        help,
        labelNames,
        async collect() {
          this.reset();
          await collect(this).catch(() => undefined);
        },
      });
    };
    gauge('wg_deliveries', 'People on active warnings by delivery state', ['state'], async (g) => {
      const rows = await this.db.query<{ state: string; n: number }[]>(
        `SELECT d.state, count(*)::int AS n FROM deliveries d JOIN warnings w ON w.id = d.warning_id
            WHERE w.state = 'active' GROUP BY d.state`,
      );
      for (const r of rows) g.set({ state: r.state }, r.n);
    });
    gauge(
      'wg_attempts',
      'Contact attempts on active warnings by channel, purpose and status',
      ['channel', 'purpose', 'status'],
      async (g) => {
        const rows = await this.db.query<
          { channel: string; purpose: string; status: string; n: number }[]
        >(
          `SELECT a.channel, a.purpose, a.status, count(*)::int AS n
             FROM contact_attempts a JOIN warnings w ON w.id = a.warning_id
            WHERE w.state = 'active' GROUP BY a.channel, a.purpose, a.status`,
        );
        for (const r of rows)
          g.set({ channel: r.channel, purpose: r.purpose, status: r.status }, r.n);
      },
    );
    gauge(
      'wg_overdue_work',
      'Sends waiting and 叫应 timers late beyond HEALTH_OVERDUE_SECONDS (degraded when > 0)',
      ['kind'],
      async (g) => {
        const w = await this.work.state();
        g.set({ kind: 'sends' }, w.overdueSends);
        g.set({ kind: 'timers' }, w.lateTimers);
        g.set({ kind: 'oldest_queued_seconds' }, w.oldestQueuedSeconds ?? 0);
      },
    );
    gauge('wg_queue_jobs', 'Jobs per queue and state', ['queue', 'state'], async (g) => {
      for (const [name, queue] of this.queues.entries()) {
        const counts = await queue.getJobCounts(
          'waiting',
          'prioritized',
          'active',
          'delayed',
          'failed',
        );
        for (const [state, n] of Object.entries(counts)) g.set({ queue: name, state }, n);
      }
    });
  }
}
