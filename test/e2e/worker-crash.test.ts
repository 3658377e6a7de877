import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyringPath } from '../../src/crypto/keyring.js';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';
import { buildPaymentRequest } from '../support/builders.js';
import { platformEvents } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * The real crash: worker processes of their own (`src/worker/main.ts`), one killed with SIGKILL
 * in the middle of a batch of sagas, then a fresh one started. Temporal replays every payment on
 * the new worker; idempotency keys and unique indexes keep each effect single.
 */
let stack: TestStack;
let keysDir: string;
const workers: ChildProcess[] = [];
/** Everything the worker processes printed, shown when the test fails. */
const outputs: string[] = [];

function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/worker/main.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: stack.config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
      MONGODB_URI: stack.config.MONGODB_URI,
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      PUBLIC_BASE_URL: stack.baseUrl,
      KEYS_DIR: keysDir,
      SANDBOX_ENABLED: 'true',
      KP_PARENT_PID: String(process.pid),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let output = '';
  const index = outputs.push('') - 1;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      outputs[index] = output;
      if (output.includes('worker polling task queue')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before polling:\n${output}`)));
  });
}

beforeAll(async () => {
  stack = await startStack({ inProcessWorker: false });
  keysDir = mkdtempSync(join(tmpdir(), 'kp-keys-'));
  writeFileSync(keyringPath(keysDir), JSON.stringify(stack.keyring), { mode: 0o600 });
});

afterAll(async () => {
  for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await stack?.stop();
  rmSync(keysDir, { recursive: true, force: true });
});

type Plan = 'succeed' | 'duplicates' | 'refused' | 'cancel';
const PLANS: Plan[] = ['succeed', 'duplicates', 'refused', 'cancel'];
const EXPECTED: Record<Plan, string> = {
  succeed: 'succeeded',
  duplicates: 'succeeded',
  refused: 'refunded',
  cancel: 'canceled',
};

describe('when the worker process is killed mid-saga', () => {
  it(
    'every payment still ends terminal with one channel order, at most one voucher and no double refund',
    { timeout: 240_000 },
    async () => {
      const first = await startWorkerProcess();
      const batch = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const plan = PLANS[i % PLANS.length] as Plan;
          const body = buildPaymentRequest();
          if (plan === 'refused') await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId: body.orderId });
          const created = await stack.request('POST', '/v1/payments', body);
          expect(created.status).toBe(201);
          return { plan, orderId: body.orderId as string, paymentId: created.body.paymentId as string };
        }),
      );

      // The payers act and the platform cancels, all at once; the worker dies in the middle of it.
      const acting = Promise.all(
        batch.map(({ plan, paymentId }) =>
          plan === 'cancel'
            ? stack.request('POST', `/v1/payments/${paymentId}/cancel`)
            : stack.request('POST', `/sandbox/v1/payments/${paymentId}/pay`, {
                outcome: 'success',
                notifications: plan === 'duplicates' ? 3 : 1,
              }),
        ),
      );
      await new Promise((r) => setTimeout(r, 150));
      first.kill('SIGKILL');
      const second = await startWorkerProcess();
      await acting;

      const { models } = stack.database;
      const statuses = async () => {
        const docs = await models.payments.find({ paymentId: { $in: batch.map((p) => p.paymentId) } }).lean();
        return batch.map((p) => docs.find((d) => d.paymentId === p.paymentId)?.status);
      };
      try {
        await expect.poll(statuses, { timeout: 180_000, interval: 500 }).toEqual(batch.map((p) => EXPECTED[p.plan]));
      } catch (err) {
        const running = second.exitCode === null && second.signalCode === null;
        const stuck = batch.find((p) => p.plan !== 'cancel');
        const history = stuck
          ? await stack.temporal.client.workflow.getHandle(stuck.paymentId).fetchHistory()
          : undefined;
        throw new Error(
          `${(err as Error).message}\nnew worker ${running ? 'running' : 'exited'}; last events of ${stuck?.paymentId}: ` +
            `${JSON.stringify(history?.events?.slice(-6).map((e) => e.eventType))}\nworker output:\n${outputs.join('\n---\n')}`,
        );
      }

      const sandboxRefunds = stack.database.connection.collection('sandbox_channel_refunds');
      for (const { paymentId, orderId, plan } of batch) {
        expect(await models.channelOrders.countDocuments({ paymentId }), paymentId).toBe(1);
        expect(await models.vouchers.countDocuments({ paymentId }), paymentId).toBeLessThanOrEqual(1);
        expect(await models.refunds.countDocuments({ paymentId }), paymentId).toBe(plan === 'refused' ? 1 : 0);
        expect(await sandboxRefunds.countDocuments({ outTradeNo: paymentId }), paymentId).toBe(
          plan === 'refused' ? 1 : 0,
        );
        const events = await platformEvents(stack, orderId);
        if (plan !== 'cancel') {
          expect(events.filter((e) => e.type === 'payment.succeeded')).toHaveLength(1);
        }
      }
    },
  );
});

describe('when the worker process is killed mid-refund', () => {
  it('every refund still completes, and the channel refunds each exactly once', { timeout: 240_000 }, async () => {
    await startWorkerProcess();
    const paid = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const created = await stack.request(
          'POST',
          '/v1/payments',
          buildPaymentRequest({ channel: i % 2 === 0 ? 'alipay' : 'wechatpay' }),
        );
        expect(created.status).toBe(201);
        await stack.request('POST', `/sandbox/v1/payments/${created.body.paymentId}/pay`, { outcome: 'success' });
        return created.body.paymentId as string;
      }),
    );
    const { models } = stack.database;
    await expect
      .poll(async () => (await models.payments.find({ paymentId: { $in: paid } }).lean()).map((d) => d.status), {
        timeout: 60_000,
        interval: 300,
      })
      .toEqual(paid.map(() => 'succeeded'));

    // Three refunds of each payment at once; the worker dies while they are decided and made.
    const asking = Promise.all(
      paid.flatMap((paymentId) =>
        [1, 2, 3].map(() =>
          stack.request('POST', `/v1/payments/${paymentId}/refunds`, { amount: 5_000, reason: 'bundle split' }),
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 150));
    const dying = workers.filter((w) => w.exitCode === null && w.signalCode === null);
    for (const w of dying) w.kill('SIGKILL');
    await startWorkerProcess();
    const answers = await asking;
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));

    await expect
      .poll(
        async () =>
          (await models.payments.find({ paymentId: { $in: paid } }).lean()).map((d) => [d.status, d.refundedAmount]),
        { timeout: 120_000, interval: 500 },
      )
      .toEqual(paid.map(() => ['partially_refunded', 15_000]));
    const sandboxRefunds = stack.database.connection.collection('sandbox_channel_refunds');
    for (const paymentId of paid) {
      expect(await models.refunds.countDocuments({ paymentId }), paymentId).toBe(3);
      const atChannel = await sandboxRefunds.find({ outTradeNo: paymentId }).toArray();
      expect(atChannel, paymentId).toHaveLength(3);
      expect(new Set(atChannel.map((r) => r.outRequestNo)).size, paymentId).toBe(3);
    }
  });
});
