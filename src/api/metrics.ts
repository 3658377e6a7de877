import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ApiError } from './errors.js';

/** Seconds: from a quick read to the response timeout. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The API process's Prometheus metrics, on a registry of its own. Label values are route
 * patterns, methods, statuses, channels, outcomes and scopes: never an id, an address or anything
 * a person typed.
 */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kp_api_' });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'kp_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'kp_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status',
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const callbacks = new Counter({
    name: 'kp_callbacks_total',
    help: 'Channel callbacks received, by channel and outcome (applied, duplicate, ignored, late_refund, rejected, error, refused)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const idempotencyReplays = new Counter({
    name: 'kp_idempotency_replays_total',
    help: 'Requests answered from an earlier answer with the same Idempotency-Key',
    registers: [registry],
  });
  const rateLimitRefusals = new Counter({
    name: 'kp_rate_limit_refusals_total',
    help: 'Requests refused with 429 by a rate limit, by scope (platform, public, callback, codec)',
    labelNames: ['scope'] as const,
    registers: [registry],
  });

  /** Times every request and counts it under its route pattern (`unmatched` when no route took it). */
  const observe: RequestHandler = (req, res, next) => {
    const stop = latency.startTimer();
    res.on('finish', () => {
      const labels = { method: req.method, route: routePattern(req), status: String(res.statusCode) };
      stop(labels);
      requests.inc(labels);
      if (res.getHeader('Idempotent-Replayed') === 'true') idempotencyReplays.inc();
      // Only the rate limits answer 429; their scope follows from where the request went.
      if (res.statusCode === 429) rateLimitRefusals.inc({ scope: rateLimitScope(req.originalUrl) });
    });
    next();
  };

  return {
    registry,
    observe,
    callback: (channel: string, outcome: string) => callbacks.inc({ channel, outcome }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

function rateLimitScope(url: string): string {
  if (url.startsWith('/v1/callbacks')) return 'callback';
  if (url.startsWith('/v1/vouchers')) return 'public';
  if (url.startsWith('/codec')) return 'codec';
  return 'platform';
}

/** The pattern of the route that answered (`/v1/payments/:paymentId`), never the path itself. */
export function routePattern(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * `GET /metrics` in Prometheus text format. With `token` set, only `Authorization: Bearer
 * <token>` may read it; without one, only a scraper on this machine (loopback) may.
 */
export function metricsHandler(registry: Registry, token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);
  return async (req, res) => {
    const given = Buffer.from(req.get('authorization') ?? '');
    const allowed =
      expected === undefined
        ? LOOPBACK.has(req.socket.remoteAddress ?? '')
        : given.length === expected.length && timingSafeEqual(given, expected);
    if (!allowed) {
      throw new ApiError(
        401,
        'authentication_error',
        'metrics_unauthorized',
        expected === undefined
          ? 'Metrics are served to this machine only; set METRICS_TOKEN to scrape from elsewhere.'
          : 'Send Authorization: Bearer <METRICS_TOKEN>.',
      );
    }
    res.setHeader('Content-Type', registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(await registry.metrics());
  };
}
