/**
 * `npm test`: the whole suite. Format check, lint and type check (one check each), then vitest:
 * unit tests, and integration and end-to-end tests against a real Temporal server and a real
 * MongoDB-wire server that vitest's global setup provisions (see test/support/global-setup.ts).
 * Extra arguments go to vitest (`npm test -- test/unit`). Ends with the line `N passed, N failed`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadProvisionSettings } from '../provision/settings.js';
import { PROJECT_ROOT } from '../worker/workflow-bundle.js';

const bin = (name: string) => join(PROJECT_ROOT, 'node_modules', '.bin', name);

function run(title: string, command: string, args: string[]): boolean {
  console.log(`\n=== ${title} ===`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const ok = result.status === 0;
  console.log(`=== ${title}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s) ===`);
  return ok;
}

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numTotalTests: number;
}

const vitestArgs = process.argv.slice(2);
const { cacheDir } = loadProvisionSettings('test');
const reportFile = join(cacheDir, 'vitest-report.json');
mkdirSync(cacheDir, { recursive: true });
rmSync(reportFile, { force: true });

let passed = 0;
let failed = 0;
const checks: [string, string, string[]][] =
  vitestArgs.length > 0
    ? []
    : [
        ['format (prettier --check)', bin('prettier'), ['--check', '--log-level', 'warn', '.']],
        ['lint (eslint)', bin('eslint'), ['--max-warnings', '0', '.']],
        ['type check (tsc --noEmit)', bin('tsc'), ['--noEmit']],
      ];
for (const [title, command, args] of checks) {
  if (run(title, command, args)) passed += 1;
  else failed += 1;
}

const vitestOk = run('tests (vitest)', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${reportFile}`,
  ...vitestArgs,
]);
if (existsSync(reportFile)) {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as VitestReport;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  if (!vitestOk && report.numFailedTests === 0) failed += 1; // a setup or collection error fails the run too
} else {
  failed += 1;
  console.log('vitest wrote no report: it failed before running tests (see above).');
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
