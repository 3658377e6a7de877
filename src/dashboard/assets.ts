import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the dashboard's pages load, served by the API itself (no CDN: it may run offline). */
export interface DashboardAsset {
  body: Buffer;
  contentType: string;
}

/** The names under `/dashboard/assets/` and what each is. */
export const DASHBOARD_ASSET_NAMES = ['dashboard.js', 'dashboard.css', 'chart.umd.min.js'] as const;
export type DashboardAssetName = (typeof DASHBOARD_ASSET_NAMES)[number];

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Reads the dashboard's script, its style sheet and Chart.js (the UMD build of the installed
 * `chart.js` package) once, at start: a missing file stops the process at boot, not on a page view.
 */
export function loadDashboardAssets(): Record<DashboardAssetName, DashboardAsset> {
  const chartDir = dirname(createRequire(import.meta.url).resolve('chart.js'));
  const js = 'application/javascript; charset=utf-8';
  return {
    'dashboard.js': { body: readFileSync(join(HERE, 'assets', 'dashboard.js')), contentType: js },
    'dashboard.css': {
      body: readFileSync(join(HERE, 'assets', 'dashboard.css')),
      contentType: 'text/css; charset=utf-8',
    },
    'chart.umd.min.js': { body: readFileSync(join(chartDir, 'chart.umd.min.js')), contentType: js },
  };
}
