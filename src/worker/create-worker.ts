import type { DataConverter } from '@temporalio/common';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import { Worker, type ActivityInterceptorsFactory, type NativeConnection } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import type { Tracing } from '../telemetry/tracing.js';
import { activityLogContext } from './log-context.js';
import { WORKFLOWS_PATH, bundleHasTracing, workflowInterceptorModules } from './workflow-bundle.js';

export interface PaymentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * Path of a prebuilt bundle; without it the worker bundles `workflows/` itself (slow). With
   * `tracing`, the bundle must have been built with the tracing interceptors.
   */
  workflowBundlePath?: string;
  shutdownGraceSeconds: number;
  /** 0 forces a full replay on every workflow task (tests use it to prove determinism). */
  maxCachedWorkflows?: number;
  /** Encrypts every payload the worker writes to history (src/temporal/codec.ts). */
  dataConverter: DataConverter;
  /** With tracing on (src/telemetry/tracing.ts): workflow and activity spans, exported with it. */
  tracing?: Tracing;
}

/** The payment worker: the payment workflow and every activity, on one task queue. */
export async function createPaymentWorker(options: PaymentWorkerOptions): Promise<Worker> {
  const { tracing, workflowBundlePath } = options;
  if (tracing && workflowBundlePath && !bundleHasTracing(workflowBundlePath)) {
    throw new Error(
      'WORKFLOW_BUNDLE_PATH: the bundle has no tracing interceptors, which OTEL_EXPORTER_OTLP_ENDPOINT needs; ' +
        'build it with `tsx src/worker/build-bundle.ts OUT.js --tracing`',
    );
  }
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(workflowBundlePath ? { workflowBundle: { codePath: workflowBundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(options.deps),
    interceptors: {
      activity: [
        ...(tracing ? [activityTracing(tracing)] : []),
        activityLogContext,
        options.deps.metrics.activityInterceptor,
      ],
      // A prebuilt bundle has its interceptor modules already (src/worker/workflow-bundle.ts).
      ...(workflowBundlePath ? {} : { workflowModules: workflowInterceptorModules(tracing !== undefined) }),
    },
    ...(tracing ? { sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) } } : {}),
    dataConverter: options.dataConverter,
    shutdownGraceTime: `${options.shutdownGraceSeconds} seconds`,
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
}

/** The SDK's activity spans (`RunActivity:<name>`, children of the workflow's `StartActivity`). */
function activityTracing(tracing: Tracing): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
}
