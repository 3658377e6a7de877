import { resolve } from 'node:path';
import { buildWorkflowBundle, writeBundle } from './workflow-bundle.js';

/**
 * `tsx src/worker/build-bundle.ts OUT.js [--tracing]`: prebuilds the workflow bundle for
 * production workers; `--tracing` adds the OpenTelemetry interceptors, which a worker with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` set needs.
 */
const args = process.argv.slice(2);
const tracing = args.includes('--tracing');
const out = resolve(args.find((arg) => !arg.startsWith('--')) ?? 'dist/workflow-bundle.js');
writeBundle(out, await buildWorkflowBundle({ tracing }));
console.log(`workflow bundle${tracing ? ' (with tracing)' : ''} written to ${out}`);
