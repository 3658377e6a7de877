import { Router } from 'express';
import type { Registry } from 'prom-client';
import { methodNotAllowed } from '../errors.js';
import { metricsHandler } from '../metrics.js';

/**
 * `GET /metrics`: the API process's metrics in Prometheus text format (src/api/metrics.ts), for
 * `METRICS_TOKEN`'s bearer, or for this machine alone when no token is set.
 */
export function metricsRoutes({ registry, token }: { registry: Registry; token: string | undefined }): Router {
  const router = Router();
  router
    .route('/metrics')
    .get(metricsHandler(registry, token))
    .all(methodNotAllowed(['GET']));
  return router;
}
