import { AllQueues } from '../../common/queue/all-queues';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { QUEUE_NAMES } from '../../common/queue/queue-names';
import { withTimeout } from '../../common/with-timeout';
import { type SpoolBacklog, spoolBacklog } from '../responses/inbound-spool';

const TIMEOUT_MS = 3000;

/**
 * The inbound spool (answers received while Postgres was unreachable): how many are not applied
 * yet and how old the oldest is, and how many were given up (failed). Up either way (it lives in
 * the queue backend, whose own health is checked apart); "degraded" while any is unapplied.
 */
@Injectable()
export class InboundSpoolHealthIndicator {
  constructor(
    private readonly queues: AllQueues,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'inbound') {
    const indicator = this.health.check(key);
    try {
      const queue = this.queues.get(QUEUE_NAMES.inbound);
      const backlog: SpoolBacklog = await withTimeout(
        spoolBacklog(queue),
        TIMEOUT_MS,
        'reading the inbound spool',
      );
      const degraded = backlog.pending > 0 || backlog.failed > 0;
      return indicator.up({ state: degraded ? 'degraded' : 'ok', ...backlog });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}
