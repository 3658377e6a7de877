import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../temporal/codec.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows/index.ts');

/** The Temporal SDK's OpenTelemetry workflow interceptors: a bundle for a traced worker has them. */
const TRACING_INTERCEPTORS_PATH = createRequire(import.meta.url).resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);
/** A class only the tracing interceptors define: a bundle whose code names it has them. */
const TRACING_INTERCEPTORS_MARK = 'OpenTelemetryInboundInterceptor';

/**
 * The interceptor modules bundled with the workflows: the request id's always, OpenTelemetry's
 * with `tracing` (a worker with `OTEL_EXPORTER_OTLP_ENDPOINT` set needs them).
 */
export function workflowInterceptorModules(tracing: boolean): string[] {
  return [join(PROJECT_ROOT, 'workflows/request-id-interceptors.ts'), ...(tracing ? [TRACING_INTERCEPTORS_PATH] : [])];
}

/** Whether the bundle at `path` was built with the tracing interceptors (`buildWorkflowBundle({ tracing: true })`). */
export function bundleHasTracing(path: string): boolean {
  return readFileSync(path, 'utf8').includes(TRACING_INTERCEPTORS_MARK);
}

/** Builds the workflow bundle (webpack) once; workers then load it without bundling. */
export async function buildWorkflowBundle(options: { tracing?: boolean } = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: workflowInterceptorModules(options.tracing ?? false),
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
 * A bundle path under `cacheDir` named by a hash of the workflow sources and the lockfile (and
 * whether it has the tracing interceptors), built only when those change. Returns the path.
 */
export async function cachedWorkflowBundle(
  cacheDir: string,
  options: { tracing?: boolean } = {},
): Promise<{ path: string; built: boolean }> {
  const tracing = options.tracing ?? false;
  const hash = createHash('sha256');
  if (tracing) hash.update('tracing');
  const dir = join(PROJECT_ROOT, 'workflows');
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (file.endsWith('.ts')) hash.update(file).update(readFileSync(join(dir, file)));
  }
  hash.update(readFileSync(join(PROJECT_ROOT, 'package-lock.json')));
  hash.update(readFileSync(FAILURE_CONVERTER_PATH));
  const path = join(cacheDir, `workflow-bundle-${hash.digest('hex').slice(0, 16)}.js`);
  if (existsSync(path)) return { path, built: false };
  writeBundle(path, await buildWorkflowBundle({ tracing }));
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
