// Runs before `npm start` and `npm test` (pre-scripts), before any dependency exists, so it is
// plain JavaScript with no imports but Node's own. Installs node_modules from the lockfile when
// they are missing or older than package-lock.json; otherwise does nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules/.package-lock.json');

const fresh = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
if (fresh) {
  console.log('[provision] node_modules: up to date with package-lock.json');
} else {
  console.log('[provision] node_modules: installing from package-lock.json (npm ci; about a minute on a cold cache)');
  const started = Date.now();
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('[provision] npm ci failed: check the registry is reachable (npm config get registry) and retry.');
    process.exit(result.status ?? 1);
  }
  console.log(`[provision] node_modules: installed in ${Math.round((Date.now() - started) / 1000)} s`);
}
