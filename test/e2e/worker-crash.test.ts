import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyringPath } from '../../src/crypto/keyring.js';
import type { PaymentChannel } from '../../domain/payment.js';
import { refundsWorkflowId } from '../../workflows/refund-contracts.js';
import { channelBooks, expectChannelBooks } from '../support/books.js';
import { buildPaymentRequest } from '../support/builders.js';
import { platformEvents, pollUntil } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';
import { spawnWorkerProcess } from '../support/worker-process.js';

/**
 * The real crash: worker processes of their own (`src/worker/main.ts`), one killed with SIGKILL
 * while it provably runs activities of a batch of sagas (the channel holds their requests, and
 * Temporal shows the activities started on that worker), then a fresh one started. Temporal
 * retries the lost activities on the new worker once their start-to-close timeout passes; the
 * channel's books and the platform stub's, which the product does not write, must show every
 * effect exactly once.
 */
let stack: TestStack;
let keysDir: string;
const workers: ChildProcess[] = [];
/** Everything the worker processes printed, shown when a test fails. */
const outputs: string[] = [];
const CHANNELS: PaymentChannel[] = ['alipay', 'wechatpay'];

function startWorkerProcess(): Promise<ChildProcess> {
  const index = outputs.push('') - 1;
  // A held channel call stays in flight until the worker dies, instead of timing out first.
  const worker = spawnWorkerProcess(stack, keysDir, { CHANNEL_TIMEOUT_MS: '60000' }, (output) => {
    outputs[index] = output;
  });
  workers.push(worker.child);
  return worker.polling.then(() => worker.child);
}

/** The identity a worker process polls with (the SDK's default, `pid@host`). */
const identityOf = (worker: ChildProcess) => `${worker.pid}@${hostname()}`;

const isRunning = (worker: ChildProcess) => worker.exitCode === null && worker.signalCode === null;

async function kill(worker: ChildProcess): Promise<void> {
  if (!isRunning(worker)) return;
  const exited = once(worker, 'exit');
  worker.kill('SIGKILL');
  await exited;
}

/** The activities of a workflow that a worker has started and not finished: type and worker. */
async function runningActivities(workflowId: string): Promise<{ type: string; worker: string }[]> {
  const { raw } = await stack.temporal.client.workflow.getHandle(workflowId).describe();
  return (raw.pendingActivities ?? [])
    .filter((a) => a.state === proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)
    .map((a) => ({ type: a.activityType?.name ?? '', worker: a.lastWorkerIdentity ?? '' }));
}

/** Holds (or lets go) the channels' answers to `operations`; answers how many requests wait, per channel. */
async function holdChannels(operations: string[], enabled: boolean): Promise<number[]> {
  const answers = await Promise.all(
    CHANNELS.map((channel) => stack.request('POST', `/sandbox/v1/channels/${channel}/hold`, { operations, enabled })),
  );
  for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answers.map((a) => a.body.waiting as number);
}

async function waitingAtChannels(): Promise<number> {
  const answers = await Promise.all(
    CHANNELS.map((channel) => stack.request('GET', `/sandbox/v1/channels/${channel}/hold`)),
  );
  return answers.reduce((sum, a) => sum + (a.body.waiting as number), 0);
}

/** Fails with what the workers printed and where a workflow stands, so a hang can be read. */
async function explain(err: unknown, workflowId: string | undefined): Promise<never> {
  const history = workflowId ? await stack.temporal.client.workflow.getHandle(workflowId).fetchHistory() : undefined;
  throw new Error(
    `${(err as Error).message}\nlast events of ${workflowId}: ` +
      `${JSON.stringify(history?.events?.slice(-6).map((e) => e.eventType))}\nworker output:\n${outputs.join('\n---\n')}`,
  );
}

beforeAll(async () => {
  stack = await startStack({ inProcessWorker: false });
  keysDir = mkdtempSync(join(tmpdir(), 'kp-keys-'));
  writeFileSync(keyringPath(keysDir), JSON.stringify(stack.keyring), { mode: 0o600 });
});

afterEach(async () => {
  await holdChannels(['create', 'query', 'close', 'refund'], false);
  for (const worker of workers) await kill(worker);
});

afterAll(async () => {
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
/** The activity each plan is held in at the channel when the worker dies. */
const HELD_IN: Partial<Record<Plan, string>> = { refused: 'refundPayment', cancel: 'closeChannelOrder' };
const PLATFORM_HEARS: Record<Plan, string[]> = {
  succeed: ['payment.succeeded'],
  duplicates: ['payment.succeeded'],
  refused: ['payment.succeeded', 'payment.refunded'],
  cancel: ['payment.canceled'],
};

describe('when the worker process is killed mid-saga', () => {
  it(
    'every payment still ends terminal, and the channel and the platform see each effect exactly once',
    { timeout: 240_000 },
    async () => {
      const first = await startWorkerProcess();
      // Refunds and closes reach the channel and wait there: the activities stay running on `first`.
      await holdChannels(['refund', 'close'], true);
      const batch = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const plan = PLANS[i % PLANS.length] as Plan;
          const body = buildPaymentRequest({ channel: CHANNELS[Math.floor(i / 8)] });
          if (plan === 'refused') await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId: body.orderId });
          const created = await stack.request('POST', '/v1/payments', body);
          expect(created.status, JSON.stringify(created.body)).toBe(201);
          return { plan, orderId: body.orderId as string, paymentId: created.body.paymentId as string };
        }),
      );

      // The payers act and the platform cancels, all at once.
      const paying = Promise.all(
        batch
          .filter(({ plan }) => plan !== 'cancel')
          .map(({ plan, paymentId }) =>
            stack.request('POST', `/sandbox/v1/payments/${paymentId}/pay`, {
              outcome: 'success',
              notifications: plan === 'duplicates' ? 3 : 1,
            }),
          ),
      );
      const canceling = Promise.all(
        batch
          .filter(({ plan }) => plan === 'cancel')
          .map(({ paymentId }) => stack.request('POST', `/v1/payments/${paymentId}/cancel`)),
      );

      // Proof the worker is mid-saga: each refused and canceled payment has its channel call
      // started on `first`, and the channel holds that many requests.
      const held = batch.filter(({ plan }) => HELD_IN[plan] !== undefined);
      const runningOn = await pollUntil(
        () =>
          Promise.all(
            held.map(
              async ({ plan, paymentId }) =>
                (await runningActivities(paymentId)).find((a) => a.type === HELD_IN[plan])?.worker,
            ),
          ),
        (found) => found.every((w) => w !== undefined),
        60_000,
      );
      expect(runningOn).toEqual(held.map(() => identityOf(first)));
      await expect.poll(waitingAtChannels).toBe(held.length);

      await kill(first);
      expect(first.signalCode).toBe('SIGKILL');
      // The channel now handles what the dead worker asked: its answers reach nobody.
      await holdChannels(['refund', 'close'], false);
      const second = await startWorkerProcess();
      const paid = await paying;
      expect(paid.map((p) => p.status)).toEqual(paid.map(() => 200));

      const { models } = stack.database;
      const statuses = async () => {
        const docs = await models.payments.find({ paymentId: { $in: batch.map((p) => p.paymentId) } }).lean();
        return batch.map((p) => docs.find((d) => d.paymentId === p.paymentId)?.status);
      };
      try {
        await expect.poll(statuses, { timeout: 180_000, interval: 500 }).toEqual(batch.map((p) => EXPECTED[p.plan]));
      } catch (err) {
        await explain(err, batch.find((p) => p.plan === 'refused')?.paymentId);
      }
      expect(isRunning(second)).toBe(true);
      // The cancels' first answers depend on how long the crash took (the API's response timeout);
      // what they decided is checked below by asking again.
      await canceling;

      for (const { paymentId, orderId, plan } of batch) {
        const order = await expectChannelBooks(stack, paymentId, {
          captured: plan === 'cancel' ? 0 : 19_900,
          refunds: plan === 'refused' ? [19_900] : [],
        });
        if (plan === 'refused') expect(order.refunds.map((r) => r.outRequestNo)).toEqual([`${paymentId}-r1`]);
        const events = await pollUntil(
          () => platformEvents(stack, orderId),
          (received) => received.length >= PLATFORM_HEARS[plan].length,
        );
        expect(
          events.map((e) => e.type),
          paymentId,
        ).toEqual(PLATFORM_HEARS[plan]);
        for (const event of events) expect(event.deliveries, `${paymentId} ${event.type}`).toBeGreaterThanOrEqual(1);
        const vouchers = await models.vouchers.find({ paymentId }).lean();
        expect(
          vouchers.map((v) => v.status),
          paymentId,
        ).toEqual(plan === 'cancel' ? [] : [plan === 'refused' ? 'void' : 'valid']);
      }
      // A repeated cancel answers like the first: canceled, whatever the first request saw.
      for (const { paymentId } of batch.filter((p) => p.plan === 'cancel')) {
        const again = await stack.request('POST', `/v1/payments/${paymentId}/cancel`);
        expect([again.status, again.body.status]).toEqual([200, 'canceled']);
      }
    },
  );
});

describe('when the worker process is killed mid-refund', () => {
  it('every refund still completes, and the channel refunds each exactly once', { timeout: 240_000 }, async () => {
    const first = await startWorkerProcess();
    const paid = await Promise.all(
      CHANNELS.flatMap((channel) => [channel, channel]).map(async (channel) => {
        const body = buildPaymentRequest({ channel });
        const created = await stack.request('POST', '/v1/payments', body);
        expect(created.status).toBe(201);
        const pay = await stack.request('POST', `/sandbox/v1/payments/${created.body.paymentId}/pay`, {
          outcome: 'success',
        });
        expect(pay.status).toBe(200);
        return { orderId: body.orderId as string, paymentId: created.body.paymentId as string };
      }),
    );
    const { models } = stack.database;
    const ids = paid.map((p) => p.paymentId);
    await expect
      .poll(async () => (await models.payments.find({ paymentId: { $in: ids } }).lean()).map((d) => d.status), {
        timeout: 60_000,
        interval: 300,
      })
      .toEqual(paid.map(() => 'succeeded'));

    // Three refunds of each payment at once; the channel holds the refund calls.
    await holdChannels(['refund'], true);
    const answers = await Promise.all(
      ids.flatMap((paymentId) =>
        [1, 2, 3].map(() =>
          stack.request('POST', `/v1/payments/${paymentId}/refunds`, { amount: 5_000, reason: 'bundle split' }),
        ),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));

    const runningOn = await pollUntil(
      () =>
        Promise.all(
          ids.map(
            async (paymentId) =>
              (await runningActivities(refundsWorkflowId(paymentId))).find((a) => a.type === 'startChannelRefund')
                ?.worker,
          ),
        ),
      (found) => found.every((w) => w !== undefined),
      60_000,
    );
    expect(runningOn).toEqual(ids.map(() => identityOf(first)));
    await expect.poll(waitingAtChannels).toBeGreaterThanOrEqual(ids.length);

    await kill(first);
    expect(first.signalCode).toBe('SIGKILL');
    await holdChannels(['refund'], false);
    await startWorkerProcess();

    try {
      await expect
        .poll(
          async () =>
            (await models.payments.find({ paymentId: { $in: ids } }).lean()).map((d) => [d.status, d.refundedAmount]),
          { timeout: 120_000, interval: 500 },
        )
        .toEqual(ids.map(() => ['partially_refunded', 15_000]));
    } catch (err) {
      await explain(err, refundsWorkflowId(ids[0] as string));
    }
    for (const paymentId of ids) {
      // Each refund's record is its own write, which may land just after the payment's.
      await expect
        .poll(async () => (await models.refunds.find({ paymentId }).lean()).map((r) => r.status))
        .toEqual(['succeeded', 'succeeded', 'succeeded']);
      const ours = await models.refunds.find({ paymentId }).lean();
      const order = await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [5_000, 5_000, 5_000] });
      expect(new Set(order.refunds.map((r) => r.outRequestNo)), paymentId).toEqual(
        new Set(ours.map((r) => r.refundId)),
      );
      expect((await channelBooks(stack, paymentId)).totals).toEqual([
        { currency: 'CNY', captured: 19_900, refunded: 15_000 },
      ]);
    }
    for (const { orderId, paymentId } of paid) {
      const events = await pollUntil(
        () => platformEvents(stack, orderId),
        (received) => received.length >= 4,
      );
      expect(events.map((e) => e.type).sort(), paymentId).toEqual([
        'payment.succeeded',
        'refund.succeeded',
        'refund.succeeded',
        'refund.succeeded',
      ]);
    }
  });
});
