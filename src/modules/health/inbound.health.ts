import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Queue } from 'bullmq';
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
    private readonly moduleRef: ModuleRef,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'inbound') {
    const indicator = this.health.check(key);
    try {
      const queue = this.moduleRef.get<Queue>(getQueueToken(QUEUE_NAMES.inbound), {
        strict: false,
      });
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
