import { resolve } from 'node:path';
import { buildWorkflowBundle, writeBundle } from './workflow-bundle.js';

/** `tsx src/worker/build-bundle.ts OUT.js`: prebuilds the workflow bundle for production workers. */
const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
writeBundle(out, await buildWorkflowBundle());
console.log(`workflow bundle written to ${out}`);
