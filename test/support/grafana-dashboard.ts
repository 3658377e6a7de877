import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';

/** The Grafana dashboard docker-compose.yml provisions. */
export const DASHBOARD_FILE = join(PROJECT_ROOT, 'src/observability/grafana/dashboards/knowledge-pay.json');

export interface DashboardPanel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { type: string; uid: string } }[];
}

export function readDashboard(): { uid: string; panels: DashboardPanel[] } {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; panels: DashboardPanel[] };
}

/** Every PromQL expression of the dashboard, with the title of its panel. */
export function dashboardQueries(): { panel: string; expr: string }[] {
  return readDashboard().panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
  );
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

/**
 * The series names and label names a PromQL expression reads: names are the identifiers left
 * once strings, label matchers, ranges, grouping clauses and function calls are set aside;
 * labels are those of the matchers and of `by`/`without`/`on`/`ignoring` clauses.
 */
export function readsOf(expr: string): { metrics: string[]; labels: string[] } {
  const labels = new Set<string>();
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(/\{([^}]*)\}/g, (_match, matchers: string) => {
    for (const [, label] of matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(label!);
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  rest = rest.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_match, list: string) => {
    for (const label of list.split(',').map((l) => l.trim())) if (label !== '') labels.add(label);
    return ' ';
  });
  const metrics = new Set<string>();
  for (const match of rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = rest.slice(match.index + match[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(match[0])) continue;
    metrics.add(match[0]);
  }
  return { metrics: [...metrics], labels: [...labels] };
}
