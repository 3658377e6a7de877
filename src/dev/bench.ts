/**
 * `npm run bench`: N payments end to end through the API, the sandbox payer paying each at once.
 * Provisions its servers like the tests do (own ports, fresh data), starts one worker and one API
 * process, and prints payments per second and p50/p95/p99 of the create latency and of the
 * create-to-succeeded latency, with the machine and the server kinds.
 *
 * Options: `--payments N` (default 500), `--concurrency C` (default 32).
 */
import { cpus, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mongoose from 'mongoose';
import { PlatformClient } from '../client/index.js';
import { loadOrCreateDevPlatformKey } from '../crypto/platform-keys.js';
import { provisionServers } from '../provision/index.js';
import { say, type ManagedProcess } from '../provision/processes.js';
import { loadProvisionSettings } from '../provision/settings.js';
import { cachedWorkflowBundle } from '../worker/workflow-bundle.js';
import { startService, waitForApi } from './services.js';

const { values } = parseArgs({
  options: {
    payments: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '32' },
    port: { type: 'string', default: '3900' },
  },
});
const total = Number(values.payments);
const concurrency = Number(values.concurrency);
if (!Number.isSafeInteger(total) || total < 1 || !Number.isSafeInteger(concurrency) || concurrency < 1) {
  console.error('usage: npm run bench -- [--payments N] [--concurrency C] [--port P]');
  process.exit(2);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (n: number) => `${n.toFixed(0)} ms`;
  return `${name.padEnd(22)} p50 ${f(percentile(sorted, 50))}  p95 ${f(percentile(sorted, 95))}  p99 ${f(percentile(sorted, 99))}  (n=${sorted.length})`;
}

async function main(): Promise<void> {
  const settings = loadProvisionSettings('test');
  const servers = await provisionServers(settings);
  const children: ManagedProcess[] = [];
  const stamp = Date.now().toString(36);
  const apiUrl = `http://127.0.0.1:${values.port}`;
  const mongodbUri = `${servers.mongo.uri}/kp_bench_${stamp}`;
  try {
    const bundle = await cachedWorkflowBundle(settings.cacheDir);
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
    const logDir = join(settings.dataDir, 'logs');
    children.push(startService('worker', 'src/worker/main.ts', env, join(logDir, `bench-worker-${stamp}.log`)));
    children.push(startService('api', 'src/api/main.ts', env, join(logDir, `bench-api-${stamp}.log`)));
    await waitForApi(apiUrl, children, settings.startupTimeoutMs);
    say(`bench: ${total} payments, ${concurrency} at a time, against ${apiUrl}`);

    const createMs: number[] = [];
    const startedAt = new Map<string, number>();
    let next = 0;
    let failures = 0;
    const t0 = Date.now();
    // Signed like a platform backend's requests, with the development key the API uses too.
    const platform = new PlatformClient({
      baseUrl: apiUrl,
      ...loadOrCreateDevPlatformKey(env.KEYS_DIR as string),
      maxRetries: 0,
    });
    const post = (path: string, body: unknown) =>
      fetch(`${apiUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const client = async () => {
      while (next < total) {
        const i = next++;
        const begin = performance.now();
        const wall = Date.now();
        const res = await platform.send('POST', '/v1/payments', {
          body: {
            orderId: `bench-${stamp}-${i}`,
            customerId: `learner-${i % 97}`,
            currency: 'CNY',
            amount: 9_900,
            items: [{ courseId: 'bench-101', title: 'Benchmarking 101', unitAmount: 9_900, quantity: 1 }],
            channel: i % 2 === 0 ? 'alipay' : 'wechatpay',
          },
        });
        const created = (res.body ?? {}) as { paymentId?: string };
        createMs.push(performance.now() - begin);
        if (res.status !== 201 || !created.paymentId) {
          failures += 1;
          continue;
        }
        startedAt.set(created.paymentId, wall);
        const paid = await post(`/sandbox/v1/payments/${created.paymentId}/pay`, { outcome: 'success' });
        if (paid.status !== 200) failures += 1;
        await paid.arrayBuffer();
      }
    };
    const progress = setInterval(() => say(`bench: ${createMs.length}/${total} created`), 5_000);
    await Promise.all(Array.from({ length: concurrency }, client));
    clearInterval(progress);

    const connection = await mongoose.createConnection(mongodbUri).asPromise();
    const payments = connection.collection('payments');
    const deadline = Date.now() + 600_000;
    let succeeded = 0;
    while (Date.now() < deadline) {
      succeeded = await payments.countDocuments({ status: 'succeeded' });
      if (succeeded >= startedAt.size) break;
      say(`bench: ${succeeded}/${startedAt.size} succeeded`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const docs = await payments.find({ status: 'succeeded' }, { projection: { paymentId: 1, timeline: 1 } }).toArray();
    await connection.close();
    const endToEnd: number[] = [];
    let lastDone = t0;
    for (const doc of docs) {
      const begin = startedAt.get(String(doc.paymentId));
      const done = (doc.timeline as { event: string; at: Date }[]).find((t) => t.event === 'payment.succeeded');
      if (begin === undefined || !done) continue;
      const at = new Date(done.at).getTime();
      endToEnd.push(at - begin);
      lastDone = Math.max(lastDone, at);
    }
    const seconds = (lastDone - t0) / 1000;
    const cpu = cpus();
    console.log('\n=== bench ===');
    console.log(
      `machine      ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${osType()} ${release()}, Node ${process.version}`,
    );
    console.log(`temporal     ${servers.temporal.source}`);
    console.log(`mongodb      ${servers.mongo.source}`);
    console.log(`processes    1 API + 1 worker (defaults), sandbox channels and platform stub in the API`);
    console.log(`payments     ${total} created, ${succeeded} succeeded, ${failures} failed requests`);
    console.log(`throughput   ${(docs.length / seconds).toFixed(1)} payments/s end to end (${seconds.toFixed(1)} s)`);
    console.log(summary('create latency', createMs));
    console.log(summary('create-to-succeeded', endToEnd));
    if (succeeded < startedAt.size || failures > 0) process.exitCode = 1;
  } finally {
    for (const child of [...children].reverse()) await child.stop();
    await servers.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`[bench] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
