import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { assembleApi } from '../../src/api/assemble.js';
import { PlatformClient, type PlatformKey } from '../../src/client/index.js';
import { loadConfig, type Config } from '../../src/config.js';
import { generateKeyring, narrowKeyring, type CompleteKeyring, type Keyring } from '../../src/crypto/keyring.js';
import type { Connected, Database } from '../../src/db/connect.js';
import { createLogger } from '../../src/logger.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { assembleSandbox } from '../../src/sandbox/server.js';
import type { TemporalClient } from '../../src/temporal/client.js';
import { dataConverterFor } from '../../src/temporal/codec.js';
import { installTemporalRuntime } from '../../src/temporal/runtime.js';
import { buildActivityDeps } from '../../src/worker/activity-deps.js';
import type { WorkerMetrics } from '../../src/worker/metrics.js';
import { createPaymentWorker } from '../../src/worker/create-worker.js';
import { cachedWorkflowBundle } from '../../src/worker/workflow-bundle.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { TEST_PAYMENT_ID_KEY, uniqueId } from './builders.js';
import codecKeys from './fixtures/codec-keys.json' with { type: 'json' };

/**
 * Test-only codec master key, committed so that recorded histories can be decoded when they are
 * replayed. Never used outside the tests.
 */
export const TEST_CODEC_KEYS: Keyring['temporalCodec'] = codecKeys;

// Expected activity retries log at warn: tests show only the SDK's errors unless asked.
installTemporalRuntime(
  createLogger({ LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'error' }, 'temporal-sdk'),
);

/** The server URI with `dbName` as its database, keeping any options the URI carries. */
export function withDatabase(uri: string, dbName: string): string {
  const url = new URL(uri);
  url.pathname = `/${dbName}`;
  return url.toString();
}

export interface TestStack {
  baseUrl: string;
  config: Config;
  keyring: CompleteKeyring;
  temporal: TemporalClient;
  database: Database;
  /** The in-process worker, unless the stack was started without one. */
  worker: Worker | undefined;
  /** The in-process worker's metrics (src/worker/metrics.ts), unless the stack has no worker. */
  workerMetrics: WorkerMetrics | undefined;
  sandbox: Sandbox;
  /** The sandbox's own database (its channel books and platform stub), apart from the payment system's. */
  sandboxDatabase: Connected;
  /** The platform key this stack's API accepts, and a client that signs with it. */
  platformKey: PlatformKey;
  client: PlatformClient;
  /**
   * A request against the API, signed with the stack's platform key like a platform backend's
   * (through the shipped client, no retries); answers status, headers and parsed body. Requests to
   * the sandbox control API (`/sandbox/v1`) carry its bearer token unless `headers` say otherwise.
   */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

export interface StackOptions {
  maxCachedWorkflows?: number;
  /** Extra environment for `loadConfig` (e.g. `SANDBOX_TIME_SCALE`). */
  env?: Record<string, string>;
  /** Another Temporal server than the provisioned one (the time-skipping test server). */
  temporalAddress?: string;
  /** Receives every log line of the stack's API and activities, at debug level. */
  logSink?: (line: string) => void;
  /** False: no worker in this process (the test runs worker processes of its own). */
  inProcessWorker?: boolean;
}

/** An HTTP server listening on a free loopback port, and its base URL. */
async function listening(what: string): Promise<{ server: Server; url: string }> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${what} did not bind a TCP port`);
  return { server, url: `http://127.0.0.1:${address.port}` };
}

/**
 * A real API and a real worker in this test process, against the provisioned Temporal and
 * MongoDB-wire servers, with a task queue, database and keyring of their own, and the sandbox
 * (channel simulators and platform stub) on a server and database of its own, as the sandbox
 * process runs: the API forwards `/sandbox` to it, the worker calls it directly.
 */
export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  const id = uniqueId('t').replace(/-/g, '_');
  const { server, url: baseUrl } = await listening('API');
  const { server: sandboxServer, url: sandboxUrl } = await listening('sandbox');

  const platformKey: PlatformKey = { keyId: `test_${id}`, secret: randomBytes(32).toString('hex') };
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TEMPORAL_ADDRESS: options.temporalAddress ?? inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `payments-${id}`,
    MONGODB_URI: withDatabase(inject('mongoUri'), `kp_${id}`),
    SANDBOX_URL: sandboxUrl,
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    PUBLIC_BASE_URL: baseUrl,
    SANDBOX_TIME_SCALE: '0.001',
    PLATFORM_KEYS: `${platformKey.keyId}:${platformKey.secret}`,
    SANDBOX_CONTROL_TOKEN: `sct_test_${randomBytes(24).toString('hex')}`,
    ...options.env,
  });
  // With OTEL_EXPORTER_OTLP_ENDPOINT in `env`, the API and the worker trace as the processes do.
  const tracing = startTracing(config, 'api');
  const logSink = options.logSink;
  const logger = logSink
    ? createLogger({ LOG_LEVEL: 'debug' }, 'test', { write: (line) => logSink(line) })
    : createLogger(config, 'test');
  // One fixed codec key for every test, so the committed histories replay (test/replay).
  const keyring: CompleteKeyring = {
    ...generateKeyring(),
    temporalCodec: TEST_CODEC_KEYS,
    paymentIdKey: TEST_PAYMENT_ID_KEY,
  };
  // Each side holds only its own keys, as the API, worker and sandbox processes do.
  const assembledSandbox = await assembleSandbox({ config, logger, keyring: narrowKeyring(keyring, 'sandbox') });
  const { sandbox } = assembledSandbox;
  sandboxServer.on('request', assembledSandbox.app);
  const { app, database, temporal, close } = await assembleApi({
    config,
    logger,
    keyring: narrowKeyring(keyring, 'api'),
    platformKeys: config.PLATFORM_KEYS ?? [],
    ...(tracing ? { tracing } : {}),
  });
  const client = new PlatformClient({ baseUrl, ...platformKey, maxRetries: 0 });
  server.on('request', app);

  let worker: Worker | undefined;
  let workerMetrics: WorkerMetrics | undefined;
  let stopWorker = () => Promise.resolve();
  if (options.inProcessWorker !== false) {
    const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    const deps = buildActivityDeps(config, database.models, narrowKeyring(keyring, 'worker'), logger, tracing?.tracer);
    workerMetrics = deps.metrics;
    const created = await createPaymentWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      deps,
      dataConverter: dataConverterFor(keyring),
      workflowBundlePath: tracing
        ? (await cachedWorkflowBundle(dirname(inject('workflowBundlePath')), { tracing: true })).path
        : inject('workflowBundlePath'),
      shutdownGraceSeconds: 5,
      ...(tracing ? { tracing } : {}),
      ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
    });
    const running = created.run();
    worker = created;
    stopWorker = async () => {
      created.shutdown();
      await running;
      await nativeConnection.close();
    };
  }

  return {
    baseUrl,
    config,
    keyring,
    temporal,
    database,
    worker,
    workerMetrics,
    sandbox,
    sandboxDatabase: assembledSandbox.database,
    platformKey,
    client,
    async request(method, path, body, headers = {}) {
      const control: Record<string, string> = path.startsWith('/sandbox/v1')
        ? { authorization: `Bearer ${sandbox.controlToken}` }
        : {};
      return client.send(method, path, {
        headers: { ...control, ...headers },
        ...(body === undefined ? {} : { body }),
      });
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await stopWorker();
      sandboxServer.closeAllConnections();
      sandboxServer.close();
      await database.connection.dropDatabase().catch(() => undefined);
      await assembledSandbox.database.connection.dropDatabase().catch(() => undefined);
      await close();
      await assembledSandbox.close();
      await tracing?.shutdown();
    },
  };
}
