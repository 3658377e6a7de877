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
import { ensureSchedules } from './schedules.js';

/**
 * The worker process: stateless (all state lives in Temporal and MongoDB), so run as many as the
 * load needs. SIGINT/SIGTERM drain it: running activities get WORKER_SHUTDOWN_GRACE_SECONDS.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  installTemporalRuntime(logger);
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
    });
    logger.info({ schedules }, 'schedules ready');
  } finally {
    await admin.close();
  }

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const deps = buildActivityDeps(config, database.models, keyring, logger);
  const worker = await createPaymentWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps,
    dataConverter: dataConverterFor(keyring),
    ...(config.WORKFLOW_BUNDLE_PATH ? { workflowBundlePath: config.WORKFLOW_BUNDLE_PATH } : {}),
    shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
  });
  logger.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, temporal: config.TEMPORAL_ADDRESS },
    `worker polling task queue ${config.TEMPORAL_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS}`,
  );
  watchParent(() => {
    logger.warn('the process that started this worker is gone; stopping');
    worker.shutdown();
  });
  try {
    await worker.run();
  } finally {
    await deps.health.close();
    await connection.close();
    await database.close();
    logger.info('worker stopped');
  }
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : `worker failed: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
