import { Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * The gateway's own metrics, kept by the process that does the work (a worker's are on its
 * WORKER_HTTP_PORT, the API's on /metrics). Work counted from Postgres (deliveries, attempts,
 * overdue sends) is in WorkMetrics, on the API. Labels are codes, never numbers or names.
 */
/**
 * The metric of that name in the default registry, made on first use: looked up each time, since
 * an app's start clears the registry (tests start several apps in one process).
 */
function once<T>(name: string, make: () => T): () => T {
  return () => (register.getSingleMetric(name) as T | undefined) ?? make();
}

export const providerCalls = once(
  'wg_provider_calls_total',
  () =>
    new Counter({
      name: 'wg_provider_calls_total',
      help: 'Calls to providers (Twilio SMS / voice, SMTP, robots, broadcast) by outcome',
      labelNames: ['provider', 'outcome'] as const,
    }),
);

export const providerLatency = once(
  'wg_provider_latency_seconds',
  () =>
    new Histogram({
      name: 'wg_provider_latency_seconds',
      help: 'Time a provider took to accept (or refuse) a message or call',
      labelNames: ['provider'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    }),
);

export const breakerState = once(
  'wg_breaker_state',
  () =>
    new Gauge({
      name: 'wg_breaker_state',
      help: 'Circuit breaker per provider in this process: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'] as const,
    }),
);

export const sendsDeferred = once(
  'wg_sends_deferred_total',
  () =>
    new Counter({
      name: 'wg_sends_deferred_total',
      help: 'Sends that waited for a provider whose circuit was open',
      labelNames: ['provider'] as const,
    }),
);

export const rateLimitWaits = once(
  'wg_rate_limit_waits_total',
  () =>
    new Counter({
      name: 'wg_rate_limit_waits_total',
      help: "Takers of a provider's shared rate limit that had to wait for a slot, by key and lane",
      labelNames: ['key', 'lane'] as const,
    }),
);

export const fanoutBacklogWaits = once(
  'wg_fanout_backlog_waits_total',
  () =>
    new Counter({
      name: 'wg_fanout_backlog_waits_total',
      help: 'Fan-out batches held back until the send queues had room (FANOUT_MAX_BACKLOG), by outcome: room, urgent (a more urgent fan-out waited for a worker: written on), or timeout (written on after FANOUT_BACKLOG_WAIT_MS)',
      labelNames: ['outcome'] as const,
    }),
);

export const fanoutYields = once(
  'wg_fanout_yields_total',
  () =>
    new Counter({
      name: 'wg_fanout_yields_total',
      help: 'Fan-out batches (rows, or a batch job of first SMS contacts) that waited while answers were queueing in an API process (ANSWER_PRESSURE_IN_HAND, at most FANOUT_YIELD_MAX_MS each)',
      labelNames: ['batch'] as const,
    }),
);

export const timerLateness = once(
  'wg_timer_lateness_seconds',
  () =>
    new Histogram({
      name: 'wg_timer_lateness_seconds',
      help: '叫应 step timers and group rules: from their due time to their handler starting',
      labelNames: ['type'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    }),
);

export const answersRecorded = once(
  'wg_answers_total',
  () =>
    new Counter({
      name: 'wg_answers_total',
      help: 'Answers recorded (effective or not) by channel and kind',
      labelNames: ['channel', 'kind', 'effective'] as const,
    }),
);

export const webhooksShed = once(
  'wg_webhooks_shed_total',
  () =>
    new Counter({
      name: 'wg_webhooks_shed_total',
      help: 'Provider webhooks answered 503 at once because as many were in hand (answer or callback)',
      labelNames: ['class'] as const,
    }),
);

export const answersSpooledUnderLoad = once(
  'wg_answers_spooled_under_load_total',
  () =>
    new Counter({
      name: 'wg_answers_spooled_under_load_total',
      help: 'Answers admitted past ANSWER_MAX_IN_FLIGHT: kept in the inbound spool, answered "received", recorded by the spool worker',
    }),
);

export const answersAcknowledgedEarly = once(
  'wg_answers_acknowledged_early_total',
  () =>
    new Counter({
      name: 'wg_answers_acknowledged_early_total',
      help: 'Answers whose webhook was answered before they were recorded (recorded in the background)',
    }),
);

export const escalationsCreated = once(
  'wg_escalations_total',
  () =>
    new Counter({
      name: 'wg_escalations_total',
      help: 'Escalation edges created (someone brought in or told about someone else) by reason',
      labelNames: ['reason'] as const,
    }),
);
