import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createApiMetrics } from '../../src/api/metrics.js';
import { createWorkerMetrics } from '../../src/worker/metrics.js';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';
import { dashboardQueries, readDashboard, readsOf } from '../support/grafana-dashboard.js';

/** Labels Prometheus adds to every series it scrapes. */
const TARGET_LABELS = ['instance', 'job'];

/** The series a registry serves (a histogram as its _bucket, _sum and _count), with their label names. */
async function servedSeries(registry: Registry): Promise<Map<string, string[]>> {
  const series = new Map<string, string[]>();
  for (const { name, type: metricType } of await registry.getMetricsAsJSON()) {
    const type = String(metricType);
    const metric = registry.getSingleMetric(name) as unknown as { labelNames?: string[] };
    const labels = [...(metric.labelNames ?? []), ...TARGET_LABELS];
    if (type === 'histogram') {
      series.set(`${name}_bucket`, [...labels, 'le']);
      series.set(`${name}_sum`, labels);
      series.set(`${name}_count`, labels);
    } else if (type === 'summary') {
      series.set(name, [...labels, 'quantile']);
      series.set(`${name}_sum`, labels);
      series.set(`${name}_count`, labels);
    } else {
      series.set(name, labels);
    }
  }
  return series;
}

/** What the API's GET /metrics and a worker's metrics port serve from the product's own registries. */
async function productSeries(): Promise<Map<string, string[]>> {
  return new Map([
    ...(await servedSeries(createApiMetrics().registry)),
    ...(await servedSeries(createWorkerMetrics().registry)),
  ]);
}

describe('the Grafana dashboard', () => {
  it('reads only series the API and the worker serve, by labels they carry (the Temporal SDK’s are checked end to end)', async () => {
    const served = await productSeries();
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(10);
    for (const { panel, expr } of queries) {
      const { metrics, labels } = readsOf(expr);
      expect(metrics.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      // Runtime metrics of the Temporal SDK come from its Rust core: test/e2e/metrics.test.ts
      // scrapes a worker process for them.
      const ours = metrics.filter((name) => !name.startsWith('temporal_'));
      for (const name of ours) expect(served.has(name), `${panel}: ${name} is not served`).toBe(true);
      if (ours.length === metrics.length) {
        const carried = new Set(ours.flatMap((name) => served.get(name) ?? []));
        for (const label of labels) expect(carried.has(label), `${panel}: label ${label} of ${expr}`).toBe(true);
      }
    }
  });

  it('shows every payment metric the product defines', async () => {
    const shown = new Set(dashboardQueries().flatMap(({ expr }) => readsOf(expr).metrics));
    const families = [...(await productSeries()).keys()]
      .filter((name) => name.startsWith('kp_') && !/^kp_(api|worker)_/.test(name))
      .map((name) => name.replace(/_(bucket|sum|count)$/, ''));
    for (const family of new Set(families)) {
      expect(
        [...shown].some((name) => name === family || name.startsWith(`${family}_`)),
        `${family} is on no panel`,
      ).toBe(true);
    }
  });

  it('reads every panel from the Prometheus datasource Grafana is provisioned with', () => {
    const provisioning = parse(
      readFileSync(join(PROJECT_ROOT, 'src/observability/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { uid: string; type: string; url: string }[] };
    const [datasource] = provisioning.datasources;
    expect(datasource).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    for (const panel of readDashboard().panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: datasource!.uid });
      for (const target of panel.targets ?? []) expect(target.datasource ?? panel.datasource).toEqual(panel.datasource);
    }
  });
});
