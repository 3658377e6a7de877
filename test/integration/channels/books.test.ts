import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPaymentRequest } from '../../support/builders.js';
import { channelBooks } from '../../support/books.js';
import { payAtChannel, waitForStatus } from '../../support/payments.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * `GET /sandbox/v1/payments/:paymentId/books`: what the simulated channels themselves hold for a
 * payment, the witness the other tests check exactly-once against.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createPayment(channel: 'alipay' | 'wechatpay') {
  const res = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.paymentId as string;
}

describe('the channel books of a payment', () => {
  it('answers 401 without the control token', async () => {
    const paymentId = await createPayment('alipay');
    const res = await fetch(`${stack.baseUrl}/sandbox/v1/payments/${paymentId}/books`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('authentication_required');
  });

  it('lets the payer pay at the channel the payUrl leads to, and no other', async () => {
    const paymentId = await createPayment('alipay');
    const elsewhere = await stack.request('POST', `/sandbox/v1/payments/${paymentId}/pay`, {
      outcome: 'success',
      channel: 'wechatpay',
    });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.code).toBe('payment_not_found');
    expect((await channelBooks(stack, paymentId)).totals).toEqual([{ currency: 'CNY', captured: 0, refunded: 0 }]);
    const there = await stack.request('POST', `/sandbox/v1/payments/${paymentId}/pay`, {
      outcome: 'success',
      channel: 'alipay',
    });
    expect(there.status, JSON.stringify(there.body)).toBe(200);
    await waitForStatus(stack, paymentId, 'succeeded');
    expect((await channelBooks(stack, paymentId)).totals).toEqual([{ currency: 'CNY', captured: 19_900, refunded: 0 }]);
  });

  it('holds no order for a payment no channel knows', async () => {
    const unknown = 'pay_abcdefghijklmnopqrstuvwxyz23';
    expect(await channelBooks(stack, unknown)).toEqual({ paymentId: unknown, orders: [], totals: [] });
  });

  it('shows an open order as not paid, with nothing captured', async () => {
    const paymentId = await createPayment('wechatpay');
    expect(await channelBooks(stack, paymentId)).toEqual({
      paymentId,
      orders: [
        {
          channel: 'wechatpay',
          outTradeNo: paymentId,
          amount: 19_900,
          currency: 'CNY',
          createdAt: expect.any(String),
          state: 'NOT_PAID',
          channelTradeNo: null,
          endedAt: null,
          captured: 0,
          refunded: 0,
          refunds: [],
          notifications: [],
        },
      ],
      totals: [{ currency: 'CNY', captured: 0, refunded: 0 }],
    });
  });

  it.each(['alipay', 'wechatpay'] as const)(
    'shows what %s captured for a paid payment, then the part it refunded',
    async (channel) => {
      const paymentId = await createPayment(channel);
      const paid = await payAtChannel(stack, paymentId);
      await waitForStatus(stack, paymentId, 'succeeded');

      const afterPay = await channelBooks(stack, paymentId);
      expect(afterPay.orders).toEqual([
        expect.objectContaining({
          channel,
          state: 'PAID',
          channelTradeNo: paid.channelTradeNo,
          endedAt: expect.any(String),
          captured: 19_900,
          refunded: 0,
          refunds: [],
        }),
      ]);
      expect(afterPay.totals).toEqual([{ currency: 'CNY', captured: 19_900, refunded: 0 }]);
      // The channel books the notification the merchant acknowledged.
      await expect
        .poll(async () => (await channelBooks(stack, paymentId)).orders[0]?.notifications)
        .toEqual([{ kind: 'payment', outRequestNo: null, acknowledgedAt: expect.any(String) }]);

      const asked = await stack.request('POST', `/v1/payments/${paymentId}/refunds`, {
        amount: 5_000,
        reason: 'one module not taken',
      });
      expect(asked.status, JSON.stringify(asked.body)).toBe(201);
      const refundId = asked.body.refundId as string;
      await waitForStatus(stack, paymentId, 'partially_refunded');

      const afterRefund = await channelBooks(stack, paymentId);
      expect(afterRefund.orders).toEqual([
        expect.objectContaining({
          state: 'PAID',
          captured: 19_900,
          refunded: 5_000,
          refunds: [{ outRequestNo: refundId, amount: 5_000, state: 'SUCCEEDED', at: expect.any(String) }],
        }),
      ]);
      expect(afterRefund.totals).toEqual([{ currency: 'CNY', captured: 19_900, refunded: 5_000 }]);
      // WeChat Pay notifies a refund's outcome too; Alipay does not.
      const acknowledged = channel === 'wechatpay' ? [{ kind: 'refund', outRequestNo: refundId }] : [];
      await expect
        .poll(async () =>
          (await channelBooks(stack, paymentId)).orders[0]?.notifications
            .filter((n) => n.kind === 'refund')
            .map(({ kind, outRequestNo }) => ({ kind, outRequestNo })),
        )
        .toEqual(acknowledged);
    },
  );
});
