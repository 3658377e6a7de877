import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../temporal/codec.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows/index.ts');

/** Builds the workflow bundle (webpack) once; workers then load it without bundling. */
export async function buildWorkflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    // Failures the workflow code raises are encoded like the worker's own (src/temporal/codec.ts).
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietBundlerLogger,
  });
  return code;
}

/** Writes the bundle atomically, so a concurrent reader never sees half a file. */
export function writeBundle(path: string, code: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
}

/**
 * A bundle path under `cacheDir` named by a hash of the workflow sources and the lockfile, built
 * only when those change. Returns the path.
 */
export async function cachedWorkflowBundle(cacheDir: string): Promise<{ path: string; built: boolean }> {
  const hash = createHash('sha256');
  const dir = join(PROJECT_ROOT, 'workflows');
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (file.endsWith('.ts')) hash.update(file).update(readFileSync(join(dir, file)));
  }
  hash.update(readFileSync(join(PROJECT_ROOT, 'package-lock.json')));
  hash.update(readFileSync(FAILURE_CONVERTER_PATH));
  const path = join(cacheDir, `workflow-bundle-${hash.digest('hex').slice(0, 16)}.js`);
  if (existsSync(path)) return { path, built: false };
  writeBundle(path, await buildWorkflowBundle());
  return { path, built: true };
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(`[workflow bundle] ${message}`),
  error: (message: string) => console.error(`[workflow bundle] ${message}`),
};
