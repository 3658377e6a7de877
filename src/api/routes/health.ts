import { Router } from 'express';

export interface Dependency {
  name: string;
  ping(timeoutMs: number): Promise<void>;
}

type DependencyReport = { status: 'ok' } | { status: 'unavailable'; reason: string };

async function check(dep: Dependency, timeoutMs: number): Promise<DependencyReport> {
  try {
    await dep.ping(timeoutMs);
    return { status: 'ok' };
  } catch (err) {
    return { status: 'unavailable', reason: err instanceof Error ? err.message : String(err) };
  }
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
    const reports = await Promise.all(dependencies.map((dep) => check(dep, timeoutMs)));
    const report: Record<string, DependencyReport> = {};
    dependencies.forEach(
      (dep, i) => (report[dep.name] = reports[i] ?? { status: 'unavailable', reason: 'not checked' }),
    );
    const ready = reports.every((r) => r.status === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', dependencies: report });
  });
  return router;
}
