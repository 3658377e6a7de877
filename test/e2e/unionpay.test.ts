import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatUnionpayTime,
  signUnionpayFields,
  unionpayFormOf,
  unionpayOrderIdOf,
} from '../../src/channels/unionpay/protocol.js';
import { generateUnionpayKeys } from '../../src/crypto/keyring.js';
import { expectChannelBooks, onlyChannelOrder } from '../support/books.js';
import { buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * UnionPay end to end: the API, the worker, the saga and the sandbox's UnionPay gateway over real
 * HTTP, with the real Temporal and MongoDB-wire servers. A payment whose notification is lost is
 * found by the window's check-in: test/e2e/payment-window.test.ts.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createPayment(overrides: Record<string, unknown> = {}) {
  const body = buildPaymentRequest({ channel: 'unionpay', checkout: 'channel', ...overrides });
  const res = await stack.request('POST', '/v1/payments', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { body, payment: res.body };
}

const outage = async (operations: string[], enabled: boolean) => {
  const res = await stack.request('POST', '/sandbox/v1/channels/unionpay/outage', { operations, enabled });
  expect(res.status).toBe(200);
};

describe('paying a course with UnionPay', () => {
  it('opens a QR-code consume whose page is the sandbox gateway’s, and succeeds once after a decline and five duplicate notifications', async () => {
    const { body, payment } = await createPayment();
    expect(payment).toMatchObject({ status: 'awaiting_payment', channel: 'unionpay' });
    expect(payment.payUrl).toBe(
      `${stack.baseUrl}/sandbox/unionpay/cashier/${unionpayOrderIdOf(payment.paymentId as string)}`,
    );
    const page = await fetch(payment.payUrl as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('UnionPay');

    const declined = await payAtChannel(stack, payment.paymentId, { outcome: 'declined' });
    expect(declined).toMatchObject({ tradeState: 'NOT_PAID', notificationsSent: 0 });
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body.status).toBe('awaiting_payment');

    const paid = await payAtChannel(stack, payment.paymentId, { notifications: 5 });
    const done = await waitForStatus(stack, payment.paymentId, 'succeeded');
    expect(done.channelTradeNo).toBe(paid.channelTradeNo);
    await expect.poll(() => stack.database.models.callbacks.countDocuments({ outTradeNo: payment.paymentId })).toBe(5);

    const { models } = stack.database;
    expect(await models.vouchers.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(await models.callbacks.countDocuments({ outTradeNo: payment.paymentId, outcome: 'applied' })).toBe(1);
    await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [] });
    expect(await platformEvents(stack, body.orderId as string)).toEqual([
      expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
    ]);
  });

  it('refuses a notification signed by a certificate outside UnionPay’s chain, and changes nothing', async () => {
    const { payment } = await createPayment();
    const impostor = generateUnionpayKeys();
    const forged = signUnionpayFields(
      {
        version: '5.1.0',
        encoding: 'UTF-8',
        signMethod: '01',
        signPubKeyCert: impostor.signingCertificate!,
        txnType: '01',
        txnSubType: '07',
        bizType: '000000',
        accessType: '0',
        merId: stack.keyring.unionpay!.merId,
        orderId: unionpayOrderIdOf(payment.paymentId as string),
        txnTime: formatUnionpayTime(new Date()),
        txnAmt: '19900',
        currencyCode: '156',
        queryId: '120316300500000000001',
        respCode: '00',
        respMsg: 'success',
      },
      impostor.signingPrivateKey!,
    );
    const res = await fetch(`${stack.baseUrl}/v1/callbacks/unionpay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: unionpayFormOf(forged),
    });

    expect(res.status).toBe(400);
    const record = await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean();
    expect(record).toMatchObject({ verified: false, outcome: 'rejected', reason: 'untrusted_certificate' });
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body.status).toBe('awaiting_payment');
  });

  it('refunds in two parts on request, each once at the channel, confirmed by UnionPay’s notifications', async () => {
    const { payment } = await createPayment();
    await payAtChannel(stack, payment.paymentId);
    await waitForStatus(stack, payment.paymentId, 'succeeded');

    for (const amount of [5_000, 14_900]) {
      const asked = (await stack.client.send('POST', `/v1/payments/${payment.paymentId}/refunds`, {
        body: { amount, reason: 'the learner changed their mind' },
        idempotencyKey: uniqueId('idem'),
      })) as { status: number; body: { refundId: string } };
      expect(asked.status, JSON.stringify(asked.body)).toBe(201);
      await pollUntil(
        async () =>
          (await stack.request('GET', `/v1/payments/${payment.paymentId}/refunds/${asked.body.refundId}`)).body,
        (refund) => refund?.status === 'succeeded',
      );
    }

    await waitForStatus(stack, payment.paymentId, 'refunded');
    await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [5_000, 14_900] });
    const books = await onlyChannelOrder(stack, payment.paymentId);
    expect(books.notifications.filter((n) => n.kind === 'refund')).toHaveLength(2);
  });

  it('fails over to the next channel when UnionPay is down at order creation, opening nothing there', async () => {
    await outage(['create'], true);
    let paymentId: string;
    try {
      const { payment } = await createPayment();
      expect(payment.channel).toBe('alipay');
      paymentId = payment.paymentId as string;
    } finally {
      await outage(['create'], false);
    }
    const view = (await stack.request('GET', `/v1/payments/${paymentId}`)).body;
    expect(view.timeline.map((t: { event: string }) => t.event)).toContain('channel.unavailable');
    const books = (await stack.request('GET', `/sandbox/v1/payments/${paymentId}/books`)).body;
    expect(books.orders.map((o: { channel: string }) => o.channel)).toEqual(['alipay']);
  });
});
