/**
 * The benchmark's baseline worker, a child process of `npm run bench` so its CPU time is measured
 * on its own: the bare workflow of baseline-workflow.ts from a prebuilt bundle, activities that do
 * nothing, worker defaults and the default data converter.
 *
 * Environment: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `BENCH_TASK_QUEUE`, `BENCH_BUNDLE_PATH`.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { watchParent } from '../../parent-watch.js';
import type { BaselineActivities } from './baseline-workflow.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const activities: BaselineActivities = {
  baselineStep: () => Promise.resolve(),
};

async function main(): Promise<void> {
  const taskQueue = required('BENCH_TASK_QUEUE');
  const connection = await NativeConnection.connect({ address: required('TEMPORAL_ADDRESS') });
  const worker = await Worker.create({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    workflowBundle: { codePath: required('BENCH_BUNDLE_PATH') },
    activities,
  });
  watchParent(() => worker.shutdown());
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(`baseline worker failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
