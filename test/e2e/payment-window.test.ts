import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentChannel, PaymentView } from '../../domain/payment.js';
import { retryCompensationSignal } from '../../workflows/contracts.js';
import { expectChannelBooks } from '../support/books.js';
import { payAtChannel, platformEvents, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';
import { startPaymentOnTestServer, startTimeSkippingEnvironment } from '../support/time-skipping.js';
import { buildPaymentRequest, testPaymentId } from '../support/builders.js';
import { requestFingerprint } from '../../src/payments/identity.js';
import type { PaymentRequest } from '../../domain/payment.js';
import type { paymentWorkflow } from '../../workflows/payment.js';

/**
 * The end of a one-minute payment window (the shortest a platform may ask for), on Temporal's
 * time-skipping test server: the window costs nothing. The channels, MongoDB and the platform stub
 * are the real ones; the 15-minute default is in test/integration/timeout-ladder.test.ts.
 */
let env: TestWorkflowEnvironment;
let stack: TestStack;
beforeAll(async () => {
  env = await startTimeSkippingEnvironment();
  stack = await startStack({ temporalAddress: env.address });
}, 300_000);
afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

const startPayment = (channel: PaymentChannel) =>
  startPaymentOnTestServer(env, stack, { channel, expiresInSeconds: 60 });

/** The kinds of the webhooks the platform stub received for an order, once `count` have come. */
async function platformHeard(orderId: string, count: number) {
  await expect.poll(async () => (await platformEvents(stack, orderId)).length).toBe(count);
  return platformEvents(stack, orderId);
}

const events = (view: PaymentView) => view.timeline.map((t) => [t.event, t.detail]);

/** The activity types the workflow's history shows completed, in order. */
async function completedActivities(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  const typeOf = new Map<string, string>();
  const done: string[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(event.eventId), scheduled.activityType?.name ?? '');
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) done.push(typeOf.get(String(completed.scheduledEventId)) ?? '');
  }
  return done;
}

describe('when the payment window ends', () => {
  it.each(['wechatpay', 'unionpay', 'card'] as const)(
    'a %s payment whose notification was lost is found by the query and succeeds',
    async (channel) => {
      const { request, paymentId, handle } = await startPayment(channel);
      await payAtChannel(stack, paymentId, { notifications: 0 });
      const done: PaymentView = await handle.result();

      expect(done.status).toBe('succeeded');
      expect(done.voucher).not.toBeNull();
      expect(events(done)).toContainEqual(['channel.query', `${channel} reports the payment made`]);
      expect(await stack.database.models.callbacks.countDocuments({ outTradeNo: paymentId })).toBe(0);
      await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [] });
      expect(await platformHeard(request.orderId, 1)).toEqual([
        expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
      ]);
    },
  );

  it('a PayPal approval whose notification was lost is captured when the window ends, and succeeds', async () => {
    const { request, paymentId, handle } = await startPaymentOnTestServer(env, stack, {
      channel: 'paypal',
      currency: 'USD',
      expiresInSeconds: 60,
    });
    expect((await payAtChannel(stack, paymentId, { notifications: 0 })).tradeState).toBe('APPROVED');
    const done: PaymentView = await handle.result();

    expect(done.status).toBe('succeeded');
    expect(events(done)).toContainEqual([
      'channel.capture',
      expect.stringMatching(/^approved before the window ended: paypal captured [0-9A-F]{17}$/),
    ]);
    expect(events(done)).toContainEqual(['channel.query', 'paypal reports the payment made']);
    expect(await stack.database.models.callbacks.countDocuments({ outTradeNo: paymentId })).toBe(0);
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [] });
    expect(await platformHeard(request.orderId, 1)).toEqual([
      expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
    ]);
  });

  it('a payment the risk check held expires with its window when nobody decides, with no channel order', async () => {
    const held = await startStack({ temporalAddress: env.address, env: { RISK_CUSTOMER_MAX_AMOUNT: '1' } });
    try {
      const request = buildPaymentRequest({ expiresInSeconds: 60 }) as unknown as PaymentRequest;
      const paymentId = testPaymentId(request.orderId);
      const handle = await env.client.workflow.start<typeof paymentWorkflow>('paymentWorkflow', {
        workflowId: paymentId,
        taskQueue: held.config.TEMPORAL_TASK_QUEUE,
        args: [
          {
            paymentId,
            request,
            requestFingerprint: requestFingerprint(request),
            acceptedAt: new Date(await env.currentTimeMs()).toISOString(),
            risk: { customer: 'c'.repeat(64) },
          },
        ],
      });
      const done: PaymentView = await handle.result();
      expect(done.status).toBe('expired');
      expect(events(done)).toContainEqual([
        'payment.risk_review',
        expect.stringMatching(/^19900 minor units by the customer in 60 min \(limit 1\)$/),
      ]);
      expect(events(done)).toContainEqual([
        'payment.expired',
        'nobody decided the risk review within the payment window',
      ]);
      expect(done.channel).toBeNull();
      expect((await held.request('GET', `/sandbox/v1/payments/${paymentId}/books`)).body.orders ?? []).toEqual([]);
      await expect
        .poll(async () => (await platformEvents(held, request.orderId)).map((e) => e.type))
        .toEqual(['payment.expired']);
    } finally {
      await held.stop();
    }
  });

  it('a success notified after the payment expired is refunded automatically, once', async () => {
    const { request, paymentId, handle } = await startPayment('alipay');
    const expired: PaymentView = await handle.result();
    expect(expired.status).toBe('expired');
    expect(events(expired)).toContainEqual(['channel.close', 'order closed']);

    await payAtChannel(stack, paymentId, { afterClose: true, notifications: 2 });
    await env.client.workflow.getHandle(`${paymentId}-late`).result();
    const refunded = await waitForStatus(stack, paymentId, 'refunded');

    expect(refunded.refunds).toEqual([
      expect.objectContaining({ refundId: `${paymentId}-late`, amount: 19_900, status: 'succeeded' }),
    ]);
    expect(await stack.database.models.refunds.countDocuments({ paymentId })).toBe(1);
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [19_900] });
    expect((await platformHeard(request.orderId, 2)).map((e) => e.type)).toEqual([
      'payment.expired',
      'payment.refunded',
    ]);
  });

  it('a payment made while the order is being closed counts as paid: the close answers so, and the saga asks again', async () => {
    const closeOutage = (enabled: boolean) =>
      stack.request('POST', '/sandbox/v1/channels/wechatpay/outage', { operations: ['close'], enabled });
    const { request, paymentId, handle } = await startPayment('wechatpay');
    await closeOutage(true);
    let result: Promise<PaymentView> | undefined;
    try {
      result = handle.result();
      // The window ended, the channel said "not paid", and the close is failing: the payer's
      // payment lands now, with its notification lost.
      await expect
        .poll(
          async () => {
            const { raw } = await handle.describe();
            return raw.pendingActivities?.find((a) => a.activityType?.name === 'closeChannelOrder')?.attempt ?? 0;
          },
          { timeout: 30_000, interval: 50 },
        )
        .toBeGreaterThanOrEqual(2);
      expect(await completedActivities(handle)).toEqual(expect.arrayContaining(['queryChannelOrder']));
      expect(await completedActivities(handle)).not.toContain('closeChannelOrder');
      await payAtChannel(stack, paymentId, { afterClose: true, notifications: 0 });
    } finally {
      await closeOutage(false);
    }
    const done = await result;

    expect(done.status).toBe('succeeded');
    expect(done.voucher).not.toBeNull();
    expect(events(done)).toEqual(
      expect.arrayContaining([
        ['channel.close', 'paid while closing'],
        ['channel.query', 'wechatpay reports the payment made'],
      ]),
    );
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [] });
    expect(await platformHeard(request.orderId, 1)).toEqual([
      expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
    ]);
  });

  it('a channel whose query reports another amount than the payment’s puts it in manual review, and nothing is issued', async () => {
    const { request, paymentId, handle } = await startPayment('alipay');
    await payAtChannel(stack, paymentId, { notifications: 0, tamperQueryAmount: true });
    await env.sleep('2 minutes');

    const stuck = await waitForStatus(stack, paymentId, 'manual_review');
    expect(stuck.failureReason).toBe('alipay reports a payment of 20000 CNY, expected 19900 CNY');
    expect(stuck.voucher).toBeNull();
    expect(await stack.database.models.vouchers.countDocuments({ paymentId })).toBe(0);
    // The channel holds the money, as it says; nothing was refunded and the platform heard nothing.
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [] });
    expect(await platformEvents(stack, request.orderId)).toEqual([]);

    // Staff settle the difference outside and close the case: the payment stays in review.
    await handle.signal(retryCompensationSignal);
    const closed: PaymentView = await handle.result();
    expect(closed.status).toBe('manual_review');
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [] });
  });
});
