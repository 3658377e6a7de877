/**
 * `npm run bench`: the payment system against a bare Temporal workflow of the same shape, on the
 * same servers. Provisions its servers like the tests do (own ports, fresh data), starts one
 * worker and one API process and a bare baseline worker, measures their CPU use while idle for
 * 5 s, then runs four passes, each measuring payments per second, p50/p95/p99 of the create
 * latency and of the create-to-succeeded latency, and the CPU seconds each process used:
 * 1. `baseline`: the bare workflow (src/dev/bench/baseline-workflow.ts), N payments, C at a time;
 * 2. the product: N payments end to end through the API, the sandbox payer paying each at once;
 * 3. `low-load baseline` and 4. `low-load`: the same at concurrency 1 (at most 50 payments), for
 *    the latency the product adds to each payment.
 * Prints the product's figures as before, every other figure led by its pass's name, and the
 * ratios; writes them as JSON and as an SVG chart under `<dataDir>/bench/`.
 *
 * Options: `--payments N` (default 500), `--concurrency C` (default 32), `--port P` (API, default
 * 3900), `--soak` (on by itself from 5000 payments): samples the RSS and heap of the worker and the
 * API every 5 s during the product pass and reports their growth from the first to the last tenth.
 * `--baseline-payments N`: the baseline pass's count (default: `--payments`, but at most 1000 in a
 * soak, whose subject is the product's memory; the Temporal dev server slows as its store grows,
 * so the baseline runs first and the ratio favours it).
 */
import { mkdirSync } from 'node:fs';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import mongoose from 'mongoose';
import { PlatformClient } from '../client/index.js';
import { loadConfig } from '../config.js';
import { loadOrCreateDevPlatformKey } from '../crypto/platform-keys.js';
import { sandboxControlTokenFor } from '../sandbox/control-token.js';
import { provisionServers } from '../provision/index.js';
import { runningProcesses, say, waitUntilReady, type ManagedProcess } from '../provision/processes.js';
import { loadProvisionSettings } from '../provision/settings.js';
import { cachedWorkflowBundle, PROJECT_ROOT, writeBundle } from '../worker/workflow-bundle.js';
import { baselineTarget } from './bench/baseline-target.js';
import { productTarget } from './bench/product-target.js';
import { latencyAdded, latencyRatios, reportLines, writeReport, type BenchReport } from './bench/report.js';
import { measureIdle, runPass, type MeasuredPids } from './bench/run-pass.js';
import { sampleMemory, type SoakFigures } from './bench/soak.js';
import { startService, waitForApi, waitForSandbox } from './services.js';

const { values } = parseArgs({
  options: {
    payments: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '32' },
    port: { type: 'string', default: '3900' },
    soak: { type: 'boolean', default: false },
    'baseline-payments': { type: 'string' },
  },
});
const total = Number(values.payments);
const concurrency = Number(values.concurrency);
const SOAK_FROM_PAYMENTS = 5_000;
const SOAK_SAMPLE_EVERY_MS = 5_000;
/** A soak's baseline pass: enough for the ratio; the soak is about the product's memory. */
const SOAK_BASELINE_PAYMENTS = 1_000;
const soak = values.soak || total >= SOAK_FROM_PAYMENTS;
const baselineTotal = Number(values['baseline-payments'] ?? (soak ? Math.min(total, SOAK_BASELINE_PAYMENTS) : total));
if (![total, concurrency, baselineTotal].every((n) => Number.isSafeInteger(n) && n >= 1)) {
  console.error('usage: npm run bench -- [--payments N] [--concurrency C] [--port P] [--soak] [--baseline-payments N]');
  process.exit(2);
}
const lowLoadPayments = Math.min(50, total);
const IDLE_MEASURE_MS = 5_000;

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(`[baseline bundle] ${message}`),
  error: (message: string) => console.error(`[baseline bundle] ${message}`),
};

/** Waits until a worker polls `taskQueue` for both workflow and activity tasks. */
function waitForWorker(
  client: Client,
  taskQueue: string,
  children: ManagedProcess[],
  timeoutMs: number,
): Promise<void> {
  const { TaskQueueType } = proto.temporal.api.enums.v1;
  return waitUntilReady(
    `a worker on task queue ${taskQueue}`,
    async () => {
      for (const taskQueueType of [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
        const { pollers } = await client.workflowService.describeTaskQueue({
          namespace: client.options.namespace,
          taskQueue: { name: taskQueue },
          taskQueueType,
        });
        if (!pollers?.length) throw new Error('no poller yet');
      }
    },
    { timeoutMs, hint: 'See the worker logs.', abort: Promise.race(children.map((c) => c.exited)) },
  );
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const settings = loadProvisionSettings('test');
  const servers = await provisionServers(settings);
  const children: ManagedProcess[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  const stamp = Date.now().toString(36);
  const apiUrl = `http://127.0.0.1:${values.port}`;
  const mongodbUri = `${servers.mongo.uri}/kp_bench_${stamp}`;
  const benchDir = join(settings.dataDir, 'bench');
  const logDir = join(settings.dataDir, 'logs');
  try {
    const bundle = await cachedWorkflowBundle(settings.cacheDir);
    const baselineBundlePath = join(settings.cacheDir, 'bench-baseline-workflow-bundle.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: join(PROJECT_ROOT, 'src/dev/bench/baseline-workflow.ts'),
      logger: quietBundlerLogger,
    });
    writeBundle(baselineBundlePath, code);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      API_PORT: values.port,
      TEMPORAL_ADDRESS: servers.temporal.address,
      TEMPORAL_TASK_QUEUE: `bench-${stamp}`,
      MONGODB_URI: mongodbUri,
      WORKFLOW_BUNDLE_PATH: bundle.path,
      KEYS_DIR: join(settings.dataDir, `bench-keys-${stamp}`),
      SANDBOX_TIME_SCALE: '0.01',
      // The bench measures the payment path, not the limiter.
      PLATFORM_RATE_LIMIT_PER_MINUTE: '1000000',
    };
    // In a soak the services run under a reporter that writes their heap figures to a file.
    const memoryFile = (service: string) => join(benchDir, `memory-${service}-${stamp}.jsonl`);
    if (soak) mkdirSync(benchDir, { recursive: true });
    const startProductService = (name: string, entry: string) =>
      soak
        ? startService(
            name,
            'src/dev/bench/memory-reporter.ts',
            {
              ...env,
              BENCH_SERVICE_ENTRY: join(PROJECT_ROOT, entry),
              BENCH_MEMORY_FILE: memoryFile(name),
              BENCH_MEMORY_EVERY_MS: String(SOAK_SAMPLE_EVERY_MS),
            },
            join(logDir, `bench-${name}-${stamp}.log`),
          )
        : startService(name, entry, env, join(logDir, `bench-${name}-${stamp}.log`));
    const sandboxProcess = startService(
      'sandbox',
      'src/sandbox/main.ts',
      env,
      join(logDir, `bench-sandbox-${stamp}.log`),
    );
    const worker = startProductService('worker', 'src/worker/main.ts');
    const api = startProductService('api', 'src/api/main.ts');
    const baselineTaskQueue = `bench-baseline-${stamp}`;
    const baselineWorker = startService(
      'baseline worker',
      'src/dev/bench/baseline-worker.ts',
      {
        ...process.env,
        TEMPORAL_ADDRESS: servers.temporal.address,
        TEMPORAL_NAMESPACE: settings.namespace,
        BENCH_TASK_QUEUE: baselineTaskQueue,
        BENCH_BUNDLE_PATH: baselineBundlePath,
      },
      join(logDir, `bench-baseline-worker-${stamp}.log`),
    );
    children.push(sandboxProcess, worker, api, baselineWorker);

    const connection = await Connection.connect({ address: servers.temporal.address });
    closers.push(() => connection.close());
    // The baseline is bare: the default data converter, no codec.
    const client = new Client({ connection, namespace: settings.namespace });
    await waitForSandbox(loadConfig(env).SANDBOX_URL, children, settings.startupTimeoutMs);
    await waitForApi(apiUrl, children, settings.startupTimeoutMs);
    await waitForWorker(client, env.TEMPORAL_TASK_QUEUE as string, children, settings.startupTimeoutMs);
    await waitForWorker(client, baselineTaskQueue, children, settings.startupTimeoutMs);
    say(`bench: ${total} payments, ${concurrency} at a time, against ${apiUrl}`);

    const database = await mongoose.createConnection(mongodbUri).asPromise();
    closers.push(() => database.close());
    // Signed like a platform backend's requests, with the development key the API uses too.
    const platform = new PlatformClient({
      baseUrl: apiUrl,
      ...loadOrCreateDevPlatformKey(env.KEYS_DIR as string),
      maxRetries: 0,
    });
    // The sandbox payer, with the control token the API takes (generated beside the platform key).
    const controlToken = sandboxControlTokenFor({
      SANDBOX_CONTROL_TOKEN: env.SANDBOX_CONTROL_TOKEN,
      NODE_ENV: 'test',
      KEYS_DIR: env.KEYS_DIR as string,
    });
    const product = productTarget({
      apiUrl,
      platform,
      sandboxHeaders: { 'content-type': 'application/json', authorization: `Bearer ${controlToken}` },
      payments: database.collection('payments'),
      runId: stamp,
    });
    const baseline = baselineTarget({ client, taskQueue: baselineTaskQueue, runId: stamp });

    const pidOf = (...names: string[]) => runningProcesses().find((p) => names.includes(p.name))?.child.pid;
    const pids: MeasuredPids = () => ({
      'temporal server': pidOf('temporal server'),
      'mongodb-wire server': pidOf('ferretdb', 'mongod'),
      postgresql: pidOf('postgresql'),
      api: api.child.pid,
      worker: worker.child.pid,
      sandbox: sandboxProcess.child.pid,
      'baseline worker': baselineWorker.child.pid,
    });
    const full = { payments: total, concurrency, pids };
    const lowLoad = { payments: lowLoadPayments, concurrency: 1, pids };

    const idle = await measureIdle(pids, IDLE_MEASURE_MS);
    const baselinePass = await runPass('baseline', baseline, { ...full, payments: baselineTotal });
    const memory = soak
      ? sampleMemory(
          {
            worker: { pid: worker.child.pid, heapFile: memoryFile('worker') },
            api: { pid: api.child.pid, heapFile: memoryFile('api') },
          },
          SOAK_SAMPLE_EVERY_MS,
        )
      : undefined;
    const productPass = await runPass('product', product, full);
    const soakFigures: SoakFigures | null = memory?.stop() ?? null;
    const lowLoadBaselinePass = await runPass('low-load baseline', baseline, lowLoad);
    const lowLoadPass = await runPass('low-load', product, lowLoad);

    const cpu = cpus();
    const report: BenchReport = {
      startedAt,
      machine: `${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}, Node ${process.version}`,
      temporal: servers.temporal.source,
      mongodb: servers.mongo.source,
      processes: `1 API + 1 worker (defaults); the sandbox channels and platform stub in a process and database of their own${soak ? ', each under a memory reporter (soak)' : ''}`,
      baselineProcesses: `1 bare worker (defaults, default data converter), activities that do nothing; same Temporal server${
        baselineTotal === total ? ', count' : ''
      } and concurrency as the product${baselineTotal === total ? '' : ` (${baselineTotal} payments, run first)`}`,
      options: { payments: total, baselinePayments: baselineTotal, concurrency, lowLoadPayments, soak },
      idleCpuSecondsPerSecond: idle,
      baseline: baselinePass,
      product: productPass,
      lowLoadBaseline: lowLoadBaselinePass,
      lowLoad: lowLoadPass,
      ratios: {
        throughput: productPass.throughput / baselinePass.throughput,
        createMs: latencyRatios(productPass.createMs, baselinePass.createMs),
        createToSucceededMs: latencyRatios(productPass.createToSucceededMs, baselinePass.createToSucceededMs),
        cpuPerPayment:
          productPass.cpuMsPerPayment === null || baselinePass.cpuMsPerPayment === null
            ? null
            : productPass.cpuMsPerPayment / baselinePass.cpuMsPerPayment,
      },
      lowLoadAddedMs: {
        createMs: latencyAdded(lowLoadPass.createMs, lowLoadBaselinePass.createMs),
        createToSucceededMs: latencyAdded(lowLoadPass.createToSucceededMs, lowLoadBaselinePass.createToSucceededMs),
      },
      soak: soakFigures,
    };
    console.log('\n=== bench ===');
    for (const line of reportLines(report)) console.log(line);
    const files = writeReport(settings.dataDir, report);
    console.log(`report json  ${files.json}`);
    console.log(`report svg   ${files.svg}`);
    const passes = [baselinePass, productPass, lowLoadBaselinePass, lowLoadPass];
    if (passes.some((p) => p.completed < p.payments || p.failedRequests > 0)) process.exitCode = 1;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    for (const child of [...children].reverse()) await child.stop();
    await servers.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`[bench] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
