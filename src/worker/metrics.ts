import { createServer, type Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatsCount } from '../../domain/stats.js';
import { STUCK_REASONS } from '../../workflows/search-attributes.js';

/** Seconds from create to paid: a learner scanning at once, to the end of a long window. */
const TIME_TO_PAID_BUCKETS = [5, 10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
/** Seconds a channel takes to answer, up to the channel timeout. */
const CHANNEL_CALL_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10];
/** Milestones that end a payment's story (or turn it): what `kp_payments_total` counts. */
const COUNTED: readonly StatsCount[] = ['succeeded', 'failed', 'expired', 'canceled', 'refunded', 'partially_refunded'];

/**
 * The worker process's Prometheus metrics, on a registry of its own: payments by milestone and
 * channel, time to paid, activity failures by activity and error type, compensations, stuck
 * payments by reason (read from Temporal's visibility at each scrape), channel call latency, and
 * the process's own. Label values are statuses, channels, operations, outcomes, activity names,
 * error types and stuck reasons: never an id or personal data.
 */
export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kp_worker_' });
  const payments = new Counter({
    name: 'kp_payments_total',
    help: 'Payments reaching a milestone, by status and channel (none: never opened at one)',
    labelNames: ['status', 'channel'] as const,
    registers: [registry],
  });
  const timeToPaid = new Histogram({
    name: 'kp_payment_time_to_paid_seconds',
    help: 'From the payment’s create to the channel’s confirmation, by channel',
    labelNames: ['channel'] as const,
    buckets: TIME_TO_PAID_BUCKETS,
    registers: [registry],
  });
  const compensations = new Counter({
    name: 'kp_compensations_total',
    help: 'Payments the saga refunded in full itself after taking the money (fulfilment refused, a late payment), by channel',
    labelNames: ['channel'] as const,
    registers: [registry],
  });
  const activityFailures = new Counter({
    name: 'kp_activity_failures_total',
    help: 'Activity attempts that failed, by activity and error type (each retry counts)',
    labelNames: ['activity', 'type'] as const,
    registers: [registry],
  });
  const channelCalls = new Histogram({
    name: 'kp_channel_call_duration_seconds',
    help: 'Calls to a channel, by channel, operation and outcome (answered, failed)',
    labelNames: ['channel', 'operation', 'outcome'] as const,
    buckets: CHANNEL_CALL_BUCKETS,
    registers: [registry],
  });
  let stuckSource: Client | undefined;
  new Gauge({
    name: 'kp_stuck_payments',
    help: 'Running payment and refunds workflows that need people, by StuckReason',
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      if (stuckSource === undefined) return;
      const client = stuckSource;
      const counts = await Promise.all(
        STUCK_REASONS.map(async (reason) => {
          const query = `NeedsAttention = true AND ExecutionStatus = 'Running' AND StuckReason = '${reason}'`;
          return [reason, (await client.workflow.count(query)).count] as const;
        }),
      );
      for (const [reason, count] of counts) this.set({ reason }, count);
    },
  });

  /** Counts every failed activity attempt by its activity and error type. */
  const failureCounter: ActivityInterceptorsFactory = (ctx) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          const type = err instanceof ApplicationFailure ? (err.type ?? 'ApplicationFailure') : errorName(err);
          activityFailures.inc({ activity: ctx.info.activityType, type });
          throw err;
        }
      },
    };
    return { inbound };
  };

  return {
    registry,
    activityInterceptor: failureCounter,
    /** Where the stuck-payment gauge reads from (the worker's Temporal client). */
    readStuckFrom(client: Client) {
      stuckSource = client;
    },
    /** A write of the read model moved a payment on: `reached` are its new milestones. */
    paymentChanged(
      channel: string | null,
      change: { reached: readonly StatsCount[]; paidInMs?: number },
      bySaga = false,
    ) {
      const label = channel ?? 'none';
      for (const status of change.reached) if (COUNTED.includes(status)) payments.inc({ status, channel: label });
      if (change.paidInMs !== undefined) timeToPaid.observe({ channel: label }, change.paidInMs / 1000);
      if (bySaga && change.reached.includes('refunded')) compensations.inc({ channel: label });
    },
    channelCall(channel: string, operation: string, answered: boolean, ms: number) {
      channelCalls.observe({ channel, operation, outcome: answered ? 'answered' : 'failed' }, ms / 1000);
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

function errorName(err: unknown): string {
  const name = err instanceof Error ? err.name : 'Error';
  // Names are code identifiers; anything else is folded so no free text becomes a label.
  return /^[A-Za-z][\w.]{0,63}$/.test(name) ? name : 'Error';
}

/**
 * Serves the worker's metrics at `GET /metrics` on `port` (loopback unless `host` says otherwise),
 * followed by the Temporal SDK's own runtime metrics when `sdkMetricsUrl` is given (the SDK serves
 * them on a port of its own; the worker answers for both on one).
 */
export async function serveWorkerMetrics(options: {
  registry: Registry;
  port: number;
  host: string;
  sdkMetricsUrl?: string;
}): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    void (async () => {
      const ours = await options.registry.metrics();
      const sdk = options.sdkMetricsUrl
        ? await fetch(options.sdkMetricsUrl, { signal: AbortSignal.timeout(2_000) })
            .then((r) => (r.ok ? r.text() : ''))
            .catch(() => '')
        : '';
      res.writeHead(200, { 'content-type': options.registry.contentType, 'cache-control': 'no-store' });
      res.end(sdk === '' ? ours : `${ours}\n${sdk}`);
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(err as Error).message}\n`);
    });
  });
  server.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return server;
}
