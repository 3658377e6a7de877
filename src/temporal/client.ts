import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Config } from '../config.js';
import { withTimeout } from '../with-timeout.js';

export interface TemporalClient {
  client: Client;
  connection: Connection;
  /** Resolves when the frontend answers its health check within `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The process's one Temporal client, created at boot and passed to whoever needs it. */
export async function connectTemporalClient(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'DEPENDENCY_TIMEOUT_MS'>,
  dataConverter?: DataConverter,
): Promise<TemporalClient> {
  const connection = await Connection.connect({
    address: config.TEMPORAL_ADDRESS,
    connectTimeout: config.DEPENDENCY_TIMEOUT_MS,
  });
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    ...(dataConverter ? { dataConverter } : {}),
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
