import { Router } from 'express';

export interface Dependency {
  name: string;
  ping(timeoutMs: number): Promise<void>;
}

/**
 * `GET /healthz`: the process is alive. `GET /readyz`: every dependency answered within the
 * timeout; otherwise 503 naming the ones that did not, so a load balancer stops routing here.
 */
export function healthRoutes(dependencies: Dependency[], timeoutMs: number): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      dependencies.map(async (dep) => {
        try {
          await dep.ping(timeoutMs);
          return [dep.name, { status: 'ok' }] as const;
        } catch (err) {
          return [dep.name, { status: 'unavailable', reason: err instanceof Error ? err.message : String(err) }] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r.status === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', dependencies: Object.fromEntries(results) });
  });
  return router;
}
