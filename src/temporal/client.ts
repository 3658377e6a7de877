import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import proto from '@temporalio/proto';
import type { Config } from '../config.js';
import type { Tracing } from '../telemetry/tracing.js';
import { withTimeout } from '../with-timeout.js';
import { requestIdClientInterceptor } from './request-id-header.js';

export interface TemporalClient {
  client: Client;
  connection: Connection;
  /** Resolves when the frontend answers its health check within `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The workflow task timeout the payment system's workflows start with (Temporal's default is
 * 10 s). A worker keeps a task that waits on local activities alive at 80% of it; a loaded worker
 * that missed that by seconds lost the task, and its replay, with an update's handler still
 * waiting, met an SDK race that fails every later task of the workflow
 * ("BadUpdateWorkflowExecutionMessage: ProtocolMessageCommand referenced absent message ID").
 * The cost: a task a worker had started when it died waits this long before another takes it.
 */
export const WORKFLOW_TASK_TIMEOUT = '30 seconds';

/**
 * The process's one Temporal client, created at boot and passed to whoever needs it. A workflow it
 * starts during an API request carries the request's id to its activities' log lines; with
 * `tracing`, each call is a span that the workflow's spans continue.
 */
export async function connectTemporalClient(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'DEPENDENCY_TIMEOUT_MS'>,
  dataConverter?: DataConverter,
  tracing?: Tracing,
): Promise<TemporalClient> {
  const connection = await Connection.connect({
    address: config.TEMPORAL_ADDRESS,
    connectTimeout: config.DEPENDENCY_TIMEOUT_MS,
  });
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    ...(dataConverter ? { dataConverter } : {}),
    interceptors: {
      workflow: [
        ...(tracing ? [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] : []),
        requestIdClientInterceptor,
      ],
    },
  });
  return {
    client,
    connection,
    async ping(timeoutMs) {
      const response = await withTimeout(connection.healthService.check({}), timeoutMs, 'Temporal health check');
      if (response.status !== proto.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING)
        throw new Error(`Temporal frontend is not serving (status ${response.status})`);
    },
    close: () => connection.close(),
  };
}
