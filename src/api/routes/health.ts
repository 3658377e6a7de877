import { Router } from 'express';
import type { Logger } from '../../logger.js';

export interface Dependency {
  name: string;
  ping(timeoutMs: number): Promise<void>;
}

type DependencyStatus = 'ok' | 'unavailable';

/**
 * `GET /healthz`: the process is alive. `GET /readyz`: every dependency answered within the
 * timeout; otherwise 503 naming the ones that did not, so a load balancer stops routing here.
 * Anyone may ask, so the answer names dependencies only: why one failed (its error text carries
 * internal addresses) goes to the log.
 */
export function healthRoutes(dependencies: Dependency[], timeoutMs: number, logger: Logger): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const statuses = await Promise.all(
      dependencies.map(async (dep): Promise<DependencyStatus> => {
        try {
          await dep.ping(timeoutMs);
          return 'ok';
        } catch (err) {
          logger.warn({ dependency: dep.name, err: err instanceof Error ? err.message : String(err) }, 'not ready');
          return 'unavailable';
        }
      }),
    );
    const report = Object.fromEntries(
      dependencies.map((dep, i) => [dep.name, { status: statuses[i] ?? 'unavailable' }]),
    );
    const ready = statuses.every((status) => status === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', dependencies: report });
  });
  return router;
}
