import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyringPath } from '../../src/crypto/keyring.js';
import { serveWorkerMetrics } from '../../src/worker/metrics.js';
import { buildPaymentRequest, uniqueId } from '../support/builders.js';
import { dashboardQueries, readsOf } from '../support/grafana-dashboard.js';
import { payAtChannel, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';
import { spawnWorkerProcess } from '../support/worker-process.js';

/**
 * Prometheus metrics on the API (`GET /metrics`) and on the worker's port, read after real
 * payments through the real API, worker, Temporal and MongoDB-wire servers: parsed, checked for
 * the numbers those payments must have moved, and for labels that never carry an id. A worker
 * process of its own serves the Temporal SDK's runtime metrics after its own, as in
 * docker-compose.yml: the Grafana dashboard's temporal_* series are checked against it (the
 * product's own series are checked in test/unit/grafana-dashboard.test.ts).
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A loopback port free right now, for a worker process's metrics. */
async function freeLoopbackPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  return port;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, parsed: every sample line (comments checked for shape). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      expect(line, 'a comment line').toMatch(/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)(?: \d+)?$/.exec(line);
    expect(match, `a sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match![1]!, labels, value: Number(match![3]) });
  }
  return samples;
}

const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/** No label value may carry a payment, order, customer or refund id, or an address. */
function expectNoIdsInLabels(samples: Sample[], ids: string[]) {
  for (const sample of samples) {
    for (const value of Object.values(sample.labels)) {
      expect(value, `${sample.name} label`).not.toMatch(/pay_|ord-|cus_|learner|127\.0\.0\.1|::1/);
      for (const id of ids) expect(value).not.toContain(id);
    }
  }
}

describe('Prometheus metrics', () => {
  it('count requests, callbacks, replays and payments, with time to paid and channel latency, and no id in any label', async () => {
    const body = buildPaymentRequest({ channel: 'alipay', customerId: 'learner-metrics' });
    const key = uniqueId('idem');
    const send = () => stack.client.send('POST', '/v1/payments', { body, idempotencyKey: key });
    const created = await send();
    expect(created.status).toBe(201);
    expect((await send()).headers.get('idempotent-replayed')).toBe('true');
    const paymentId = (created.body as { paymentId: string }).paymentId;
    await payAtChannel(stack, paymentId);
    await waitForStatus(stack, paymentId, 'succeeded');

    const api = await fetch(`${stack.baseUrl}/metrics`);
    expect(api.status).toBe(200);
    expect(api.headers.get('content-type')).toContain('text/plain');
    const fromApi = parseMetrics(await api.text());
    expect(
      sum(fromApi, 'kp_http_requests_total', { method: 'POST', route: '/v1/payments/', status: '201' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sum(fromApi, 'kp_http_request_duration_seconds_count', { route: '/v1/payments/:paymentId' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sum(fromApi, 'kp_callbacks_total', { channel: 'alipay', outcome: 'applied' })).toBeGreaterThanOrEqual(1);
    expect(sum(fromApi, 'kp_idempotency_replays_total')).toBeGreaterThanOrEqual(1);
    expect(sum(fromApi, 'kp_api_process_cpu_seconds_total')).toBeGreaterThan(0);
    expectNoIdsInLabels(fromApi, [paymentId, body.orderId as string]);

    const server = await serveWorkerMetrics({ registry: stack.workerMetrics!.registry, port: 0, host: '127.0.0.1' });
    try {
      stack.workerMetrics!.readStuckFrom(stack.temporal.client);
      const { port } = server.address() as AddressInfo;
      const worker = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(worker.status).toBe(200);
      const fromWorker = parseMetrics(await worker.text());
      expect(sum(fromWorker, 'kp_payments_total', { status: 'succeeded', channel: 'alipay' })).toBe(1);
      expect(sum(fromWorker, 'kp_payment_time_to_paid_seconds_count', { channel: 'alipay' })).toBe(1);
      expect(
        sum(fromWorker, 'kp_channel_call_duration_seconds_count', {
          channel: 'alipay',
          operation: 'create',
          outcome: 'answered',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(fromWorker.some((s) => s.name === 'kp_stuck_payments' && s.labels.reason === 'compensation_failed')).toBe(
        true,
      );
      expectNoIdsInLabels(fromWorker, [paymentId, body.orderId as string]);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      server.close();
    }
  });

  it('count failed activity attempts by activity and error type', async () => {
    const outage = (enabled: boolean) =>
      stack.request('POST', '/sandbox/v1/channels/alipay/outage', { operations: ['create'], enabled });
    await outage(true);
    try {
      const res = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
      expect(res.status).toBe(201);
      expect(res.body.channel).not.toBe('alipay');
    } finally {
      await outage(false);
    }
    const samples = parseMetrics(await stack.workerMetrics!.registry.metrics());
    expect(sum(samples, 'kp_activity_failures_total', { activity: 'openChannelOrder' })).toBeGreaterThanOrEqual(1);
  });

  describe('with METRICS_TOKEN set, and a worker process of its own as docker-compose.yml runs it', () => {
    let guarded: TestStack;
    let keysDir: string;
    let worker: ChildProcess | undefined;
    let workerMetricsUrl: string;
    beforeAll(async () => {
      guarded = await startStack({ inProcessWorker: false, env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
      keysDir = mkdtempSync(join(tmpdir(), 'kp-keys-'));
      writeFileSync(keyringPath(keysDir), JSON.stringify(guarded.keyring), { mode: 0o600 });
      const port = await freeLoopbackPort();
      workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
      const started = spawnWorkerProcess(guarded, keysDir, { WORKER_METRICS_PORT: String(port) });
      worker = started.child;
      await started.polling;
    });
    afterAll(async () => {
      if (worker && worker.exitCode === null && worker.signalCode === null) {
        const exited = once(worker, 'exit');
        worker.kill('SIGTERM');
        await exited;
      }
      await guarded?.stop();
      if (keysDir) rmSync(keysDir, { recursive: true, force: true });
    });

    it('serve the API’s metrics to the holder of METRICS_TOKEN only', async () => {
      const refused = await fetch(`${guarded.baseUrl}/metrics`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('metrics_unauthorized');
      const wrong = await fetch(`${guarded.baseUrl}/metrics`, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      const allowed = await fetch(`${guarded.baseUrl}/metrics`, {
        headers: { authorization: 'Bearer metrics-token-0123456789' },
      });
      expect(allowed.status).toBe(200);
      expect(parseMetrics(await allowed.text()).length).toBeGreaterThan(0);
      expect((await fetch(`${guarded.baseUrl}/metrics`, { method: 'POST' })).status).toBe(405);
    });

    it('serve, on the worker’s port, the Temporal SDK’s runtime metrics the Grafana dashboard reads, by labels they carry', async () => {
      // One payment, so the worker has taken workflow and activity tasks.
      const created = await guarded.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
      expect(created.status).toBe(201);
      await payAtChannel(guarded, created.body.paymentId as string);
      await waitForStatus(guarded, created.body.paymentId as string, 'succeeded');

      const sdkReads = dashboardQueries()
        .map(({ panel, expr }) => ({ panel, expr, ...readsOf(expr) }))
        .filter(({ metrics }) => metrics.some((name) => name.startsWith('temporal_')));
      expect(sdkReads.length).toBeGreaterThan(0);
      let samples: Sample[] = [];
      await expect
        .poll(
          async () => {
            samples = parseMetrics(await (await fetch(workerMetricsUrl)).text());
            const served = new Set(samples.map((s) => s.name));
            return sdkReads.flatMap(({ metrics }) => metrics).filter((name) => !served.has(name));
          },
          { message: 'dashboard series the worker does not serve' },
        )
        .toEqual([]);
      // The worker's own metrics come first on the same port.
      expect(samples.some((s) => s.name === 'kp_worker_process_cpu_seconds_total')).toBe(true);
      for (const { panel, expr, metrics, labels } of sdkReads) {
        const carried = new Set([
          ...samples.filter((s) => metrics.includes(s.name)).flatMap((s) => Object.keys(s.labels)),
          'instance',
          'job',
        ]);
        for (const label of labels) expect(carried.has(label), `${panel}: label ${label} of ${expr}`).toBe(true);
      }
    });
  });
});
