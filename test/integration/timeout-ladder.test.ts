import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentStatusKey } from '../../workflows/search-attributes.js';
import type { PaymentView } from '../../domain/payment.js';
import { getPaymentQuery, retryCompensationSignal } from '../../workflows/contracts.js';
import { expectChannelBooks } from '../support/books.js';
import { recordHistory } from '../support/histories.js';
import { payAtChannel, platformEvents } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';
import { startPaymentOnTestServer, startTimeSkippingEnvironment } from '../support/time-skipping.js';

/**
 * Timers measured in minutes and days, on Temporal's time-skipping test server: a 15-minute
 * payment window or a day of webhook retries costs nothing. The channels, MongoDB and the
 * platform stub are the real ones.
 */
let env: TestWorkflowEnvironment;
let stack: TestStack;
let failingPlatform: Server;
let failingStack: TestStack;

beforeAll(async () => {
  env = await startTimeSkippingEnvironment();
  stack = await startStack({ temporalAddress: env.address });
  // A platform that never answers 2xx: the fulfilment webhook is retried for a day.
  failingPlatform = createServer((_req, res) => {
    res.statusCode = 503;
    res.end('maintenance');
  });
  failingPlatform.listen(0, '127.0.0.1');
  await once(failingPlatform, 'listening');
  const { port } = failingPlatform.address() as { port: number };
  failingStack = await startStack({
    temporalAddress: env.address,
    env: { PLATFORM_WEBHOOK_URL: `http://127.0.0.1:${port}/webhooks` },
  });
}, 300_000);

afterAll(async () => {
  await failingStack?.stop();
  await stack?.stop();
  failingPlatform?.close();
  await env?.teardown();
});

const startPayment = (on: TestStack, overrides: Record<string, unknown> = {}) =>
  startPaymentOnTestServer(env, on, overrides);

describe('the timeout ladder', () => {
  it('expires an unpaid payment when its 15-minute window ends: asks the channel, closes the order, tells the platform', async () => {
    const { request, paymentId, handle } = await startPayment(stack);
    const result: PaymentView = await handle.result();

    expect(result.status).toBe('expired');
    expect(result.timeline.map((t) => t.event)).toEqual(
      expect.arrayContaining(['payment.awaiting_payment', 'channel.close', 'payment.expired']),
    );
    expect(Date.parse(result.timeline.at(-1)!.at) - Date.parse(result.timeline[0]!.at)).toBeGreaterThanOrEqual(900_000);
    // While the window was open the saga asked the channel at 1, 3 and 7 minutes: not paid.
    expect(result.timeline.filter((t) => t.event === 'channel.check_in').map((t) => t.detail)).toEqual(
      [1, 3, 7].map((m) => `check-in ${m} min after opening: alipay reports NOT_PAID`),
    );
    const late = await stack.request('POST', `/sandbox/v1/payments/${paymentId}/pay`, { outcome: 'success' });
    expect([late.status, late.body.error?.code]).toEqual([409, 'order_closed']);
    await expectChannelBooks(stack, paymentId, { captured: 0, refunds: [] });
    await expect
      .poll(async () => (await platformEvents(stack, request.orderId)).map((e) => e.type))
      .toEqual(['payment.expired']);
    await recordHistory(env.client, paymentId, 'expired');
  });

  it('finds a payment whose notification was lost by asking the channel at a check-in, long before the window ends', async () => {
    const { paymentId, handle } = await startPayment(stack);
    await payAtChannel(stack, paymentId, { notifications: 0 });
    const result: PaymentView = await handle.result();

    expect(result.status).toBe('succeeded');
    expect(result.voucher).not.toBeNull();
    const at = (event: string) => Date.parse(result.timeline.find((t) => t.event === event)!.at);
    expect(result.timeline.filter((t) => t.event === 'channel.check_in').at(-1)?.detail).toMatch(
      /^check-in [137] min after opening: alipay reports PAID$/,
    );
    expect(at('payment.succeeded') - at('payment.awaiting_payment')).toBeLessThan(8 * 60_000);
    expect(await stack.database.models.callbacks.countDocuments({ outTradeNo: paymentId })).toBe(0);
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [] });
    await recordHistory(env.client, paymentId, 'lost-notification');
  });

  it('puts a payment whose refund keeps failing in manual_review, and a staff retry finishes it', async () => {
    const outage = (enabled: boolean) =>
      stack.request('POST', '/sandbox/v1/channels/wechatpay/outage', { operations: ['refund'], enabled });
    const { request, paymentId, handle } = await startPayment(stack, { channel: 'wechatpay' });
    await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId: request.orderId });
    await outage(true);
    try {
      await payAtChannel(stack, paymentId);
      await env.sleep('3 hours');
      const stuck = await handle.query(getPaymentQuery);
      expect(stuck.status).toBe('manual_review');
      expect(stuck.failureReason).toMatch(/retryCompensation/);
      expect((await handle.describe()).typedSearchAttributes.get(PaymentStatusKey)).toBe('manual_review');
    } finally {
      await outage(false);
    }
    await handle.signal(retryCompensationSignal);
    const result: PaymentView = await handle.result();

    expect(result.status).toBe('refunded');
    expect(result.refunds).toEqual([expect.objectContaining({ status: 'succeeded', amount: 19_900 })]);
    expect(await stack.database.models.refunds.countDocuments({ paymentId })).toBe(1);
    // Refund calls failed for three hours, then one was made: the channel refunded once.
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [19_900] });
  });

  it('refunds the learner when the platform has not confirmed fulfilment after a day of retries', async () => {
    const { paymentId, handle } = await startPayment(failingStack);
    await payAtChannel(failingStack, paymentId);
    const result: PaymentView = await handle.result();

    expect(result.status).toBe('refunded');
    expect(result.failureReason).toMatch(/did not confirm fulfilment/);
    expect(result.refunds).toEqual([expect.objectContaining({ status: 'succeeded', amount: 19_900 })]);
    const attempts = await failingStack.database.models.webhookDeliveries.countDocuments({
      paymentId,
      type: 'payment.succeeded',
    });
    expect(attempts).toBeGreaterThan(100);
    await expectChannelBooks(failingStack, paymentId, { captured: 19_900, refunds: [19_900] });
    await recordHistory(env.client, paymentId, 'refunded-fulfilment-unconfirmed');
  });
});
