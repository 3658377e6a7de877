import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import { WORKFLOWS_PATH } from './workflow-bundle.js';

export interface PaymentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Path of a prebuilt bundle; without it the worker bundles `workflows/` itself (slow). */
  workflowBundlePath?: string;
  shutdownGraceSeconds: number;
  /** 0 forces a full replay on every workflow task (tests use it to prove determinism). */
  maxCachedWorkflows?: number;
  /** Encrypts every payload the worker writes to history (src/temporal/codec.ts). */
  dataConverter: DataConverter;
}

/** The payment worker: the payment workflow and every activity, on one task queue. */
export async function createPaymentWorker(options: PaymentWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.deps),
    interceptors: { activity: [options.deps.metrics.activityInterceptor] },
    dataConverter: options.dataConverter,
    shutdownGraceTime: `${options.shutdownGraceSeconds} seconds`,
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
}
