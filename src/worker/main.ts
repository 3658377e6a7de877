import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase } from '../db/connect.js';
import { createLogger } from '../logger.js';
import { connectTemporalClient } from '../temporal/client.js';
import { dataConverterFor } from '../temporal/codec.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { keyringFor } from '../crypto/keyring.js';
import { buildActivityDeps } from './activity-deps.js';
import { watchParent } from '../parent-watch.js';
import { createPaymentWorker } from './create-worker.js';
import { startTracing } from '../telemetry/tracing.js';
import { ensureSchedules } from './schedules.js';
import { channelsWithBills } from './activity-deps.js';
import { serveWorkerMetrics } from './metrics.js';
import { createServer } from 'node:net';

/**
 * The worker process: stateless (all state lives in Temporal and MongoDB), so run as many as the
 * load needs. SIGINT/SIGTERM drain it: running activities get WORKER_SHUTDOWN_GRACE_SECONDS.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  const tracing = startTracing(config, 'worker');
  // The SDK serves its runtime metrics on a loopback port of its own; /metrics below adds them.
  const sdkPort = config.WORKER_METRICS_PORT === 0 ? undefined : await freeLoopbackPort();
  installTemporalRuntime(logger, sdkPort === undefined ? {} : { sdkMetricsAddress: `127.0.0.1:${sdkPort}` });
  const keyring = keyringFor(config, 'worker');
  const database = await connectDatabase(config.MONGODB_URI, { timeoutMs: config.DEPENDENCY_TIMEOUT_MS }).catch(
    (err: unknown) => {
      throw new Error(
        `cannot reach MongoDB (MONGODB_URI): ${(err as Error).message}. Is it running? \`npm start\` provisions one.`,
      );
    },
  );

  const admin = await connectTemporalClient(config, dataConverterFor(keyring));
  try {
    const added = await ensureSearchAttributes(admin.connection, config.TEMPORAL_NAMESPACE);
    if (added.length > 0) logger.info({ added }, 'registered search attributes');
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      `could not register search attributes; an operator must add ${PAYMENT_SEARCH_ATTRIBUTES.map((k) => `${k.name} (${k.type})`).join(', ')}`,
    );
  }
  try {
    const schedules = await ensureSchedules(admin.client, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      periodSeconds: config.VOUCHER_SEAL_PERIOD_SECONDS,
      graceSeconds: config.VOUCHER_SEAL_GRACE_SECONDS,
      reconciliation: { channels: channelsWithBills(config), time: config.RECONCILIATION_TIME },
    });
    logger.info({ schedules }, 'schedules ready');
  } catch (err) {
    await admin.close();
    throw err;
  }

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const deps = buildActivityDeps(config, database.models, keyring, logger, tracing?.tracer);
  deps.metrics.readStuckFrom(admin.client);
  const metricsServer =
    config.WORKER_METRICS_PORT === 0
      ? undefined
      : await serveWorkerMetrics({
          registry: deps.metrics.registry,
          port: config.WORKER_METRICS_PORT,
          host: config.WORKER_METRICS_HOST,
          ...(sdkPort === undefined ? {} : { sdkMetricsUrl: `http://127.0.0.1:${sdkPort}/metrics` }),
        }).then(
          (server) => {
            logger.info(`worker metrics at http://${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}/metrics`);
            return server;
          },
          (err: unknown) => {
            // Metrics are not worth a worker: another process on this machine may hold the port.
            logger.warn(
              { err: (err as Error).message },
              `worker metrics not served: port ${config.WORKER_METRICS_PORT} is taken (set WORKER_METRICS_PORT per worker, or 0)`,
            );
            return undefined;
          },
        );
  const worker = await createPaymentWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps,
    dataConverter: dataConverterFor(keyring),
    ...(config.WORKFLOW_BUNDLE_PATH ? { workflowBundlePath: config.WORKFLOW_BUNDLE_PATH } : {}),
    shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
    ...(tracing ? { tracing } : {}),
  });
  logger.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      namespace: config.TEMPORAL_NAMESPACE,
      temporal: config.TEMPORAL_ADDRESS,
      tracing: tracing !== undefined,
    },
    `worker polling task queue ${config.TEMPORAL_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS}`,
  );
  watchParent(() => {
    logger.warn('the process that started this worker is gone; stopping');
    worker.shutdown();
  });
  try {
    await worker.run();
  } finally {
    metricsServer?.close();
    await admin.close();
    await deps.health.close();
    await connection.close();
    await database.close();
    await tracing?.shutdown();
    logger.info('worker stopped');
  }
}

/** A loopback port free right now (the SDK binds it a moment later). */
async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no loopback port for the SDK metrics');
  return address.port;
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : `worker failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
