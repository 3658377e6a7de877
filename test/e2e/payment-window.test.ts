import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPaymentRequest } from '../support/builders.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * The end of a real one-minute payment window on the real server (the time-skipping server covers
 * the 15-minute default in test/integration/timeout-ladder.test.ts). The two cases run side by
 * side, so the file costs one window.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createPayment(channel: 'alipay' | 'wechatpay') {
  const body = buildPaymentRequest({ channel, expiresInSeconds: 60 });
  const res = await stack.request('POST', '/v1/payments', body);
  expect(res.status).toBe(201);
  return { orderId: body.orderId as string, paymentId: res.body.paymentId as string };
}

describe('when the payment window ends', () => {
  it.concurrent(
    'a payment whose notification was lost is found by the query and succeeds',
    { timeout: 150_000 },
    async () => {
      const { paymentId } = await createPayment('wechatpay');
      await payAtChannel(stack, paymentId, { notifications: 0 });
      const done = await waitForStatus(stack, paymentId, 'succeeded', 120_000);

      expect(done.voucher).not.toBeNull();
      expect(done.timeline.map((t: { event: string }) => t.event)).toContain('channel.query');
      expect(await stack.database.models.callbacks.countDocuments({ outTradeNo: paymentId })).toBe(0);
    },
  );

  it.concurrent(
    'a success notified after the payment expired is refunded automatically, once',
    { timeout: 150_000 },
    async () => {
      const { orderId, paymentId } = await createPayment('alipay');
      const expired = await waitForStatus(stack, paymentId, 'expired', 120_000);
      expect(expired.timeline.map((t: { event: string }) => t.event)).toContain('channel.close');

      await payAtChannel(stack, paymentId, { afterClose: true, notifications: 2 });
      const refunded = await waitForStatus(stack, paymentId, 'refunded', 30_000);

      expect(refunded.refunds).toEqual([
        expect.objectContaining({ refundId: `${paymentId}-late`, status: 'succeeded' }),
      ]);
      expect(await stack.database.models.refunds.countDocuments({ paymentId })).toBe(1);
      const events = await pollUntil(
        async () => (await platformEvents(stack, orderId)).map((e) => e.type),
        (types) => types.length >= 2,
      );
      expect(events).toEqual(['payment.expired', 'payment.refunded']);
    },
  );
});
