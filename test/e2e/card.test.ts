import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCardKeys } from '../../src/crypto/keyring.js';
import { intentIdOf, stripeSignatureHeader } from '../../src/sandbox/channels/card/protocol.js';
import { expectChannelBooks, onlyChannelOrder } from '../support/books.js';
import { recordHistory } from '../support/histories.js';
import { buildItem, buildPaymentRequest, testPaymentId, uniqueId } from '../support/builders.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * International cards end to end: the API, the worker, the saga and the sandbox's card processor
 * (Stripe's API, driven by the official SDK in the adapter) over real HTTP, with the real Temporal
 * and MongoDB-wire servers. A payment whose webhook is lost is found by the window's check-in:
 * test/e2e/payment-window.test.ts.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A course priced in dollars: only the card channel takes it. */
async function createDollarPayment(amount = 4_900) {
  const body = buildPaymentRequest({
    currency: 'USD',
    checkout: 'channel',
    items: [buildItem({ unitAmount: amount })],
  });
  const res = await stack.request('POST', '/v1/payments', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { body, payment: res.body };
}

const eventsOf = (payment: { timeline?: { event: string }[] }) => (payment.timeline ?? []).map((t) => t.event);

describe('paying a course by card', () => {
  it('routes a dollar price to the card processor, records a decline, and succeeds once after three duplicate webhooks', async () => {
    const { body, payment } = await createDollarPayment();
    expect(payment).toMatchObject({ status: 'awaiting_payment', channel: 'card', currency: 'USD', amount: 4_900 });
    expect(payment.payUrl).toBe(`${stack.baseUrl}/sandbox/card/pay/${intentIdOf(payment.paymentId as string)}`);
    const page = await fetch(payment.payUrl as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('49.00');

    await payAtChannel(stack, payment.paymentId, { outcome: 'declined' });
    await expect
      .poll(
        async () => (await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean())?.outcome,
      )
      .toBe('applied');
    // The decline is an attempt on the payment and a webhook to the platform; the payment stays payable.
    const declined = await pollUntil(
      async () => (await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body,
      (view) => view.attempts?.length === 1,
    );
    expect(declined).toMatchObject({
      status: 'awaiting_payment',
      attempts: [{ attempt: 1, channel: 'card', outcome: 'declined', reason: 'generic_decline' }],
    });
    expect(eventsOf(declined)).toContain('payment.attempt_failed');
    await expect
      .poll(() => platformEvents(stack, body.orderId as string))
      .toEqual([expect.objectContaining({ type: 'payment.attempt_failed', deliveries: 1 })]);

    await payAtChannel(stack, payment.paymentId, { notifications: 3 });
    const done = await waitForStatus(stack, payment.paymentId, 'succeeded');
    expect(done.channelTradeNo).toMatch(/^ch_/);
    await expect
      .poll(() => stack.database.models.callbacks.countDocuments({ outTradeNo: payment.paymentId, verified: true }))
      .toBe(4);
    const { models } = stack.database;
    expect(await models.vouchers.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(
      await models.callbacks.countDocuments({ outTradeNo: payment.paymentId, tradeState: 'PAID', outcome: 'applied' }),
    ).toBe(1);
    await expectChannelBooks(stack, payment.paymentId, { captured: 4_900, refunds: [] });
    expect(await platformEvents(stack, body.orderId as string)).toEqual([
      expect.objectContaining({ type: 'payment.attempt_failed', deliveries: 1 }),
      expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
    ]);
    expect(done.attempts).toMatchObject([
      { attempt: 1, outcome: 'declined' },
      { attempt: 2, channel: 'card', outcome: 'succeeded' },
    ]);
  });

  it('refuses a webhook signed with another endpoint secret, and changes nothing', async () => {
    const { payment } = await createDollarPayment();
    const event = JSON.stringify({
      id: 'evt_forged',
      object: 'event',
      type: 'payment_intent.succeeded',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: intentIdOf(payment.paymentId as string),
          object: 'payment_intent',
          amount: 4_900,
          amount_received: 4_900,
          currency: 'usd',
          status: 'succeeded',
          latest_charge: 'ch_forged',
          metadata: { payment_id: payment.paymentId },
        },
      },
    });
    const res = await fetch(`${stack.baseUrl}/v1/callbacks/card`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': stripeSignatureHeader(event, generateCardKeys().webhookSecret),
      },
      body: event,
    });

    expect(res.status).toBe(400);
    const record = await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean();
    expect(record).toMatchObject({ verified: false, outcome: 'rejected', reason: 'bad_signature' });
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body.status).toBe('awaiting_payment');
  });

  it('refunds part of a dollar payment once at the processor, confirmed by its refund.updated event', async () => {
    const { payment } = await createDollarPayment();
    await payAtChannel(stack, payment.paymentId);
    await waitForStatus(stack, payment.paymentId, 'succeeded');

    const asked = (await stack.client.send('POST', `/v1/payments/${payment.paymentId}/refunds`, {
      body: { amount: 1_900, reason: 'the learner changed their mind' },
      idempotencyKey: uniqueId('idem'),
    })) as { status: number; body: { refundId: string } };
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    await pollUntil(
      async () => (await stack.request('GET', `/v1/payments/${payment.paymentId}/refunds/${asked.body.refundId}`)).body,
      (refund) => refund?.status === 'succeeded',
    );

    await waitForStatus(stack, payment.paymentId, 'partially_refunded');
    await expectChannelBooks(stack, payment.paymentId, { captured: 4_900, refunds: [1_900] });
    const books = await onlyChannelOrder(stack, payment.paymentId);
    await expect
      .poll(async () => (await onlyChannelOrder(stack, payment.paymentId)).notifications.map((n) => n.kind).sort())
      .toEqual(['payment', 'refund']);
    expect(books.currency).toBe('USD');
  });

  it('fails over to the next channel when the processor is down at order creation', async () => {
    const outage = (enabled: boolean) =>
      stack.request('POST', '/sandbox/v1/channels/card/outage', { operations: ['create'], enabled });
    expect((await outage(true)).status).toBe(200);
    let paymentId: string;
    try {
      const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'card' }));
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.channel).toBe('alipay');
      paymentId = created.body.paymentId;
    } finally {
      await outage(false);
    }
    const books = (await stack.request('GET', `/sandbox/v1/payments/${paymentId}/books`)).body;
    expect(books.orders.map((o: { channel: string }) => o.channel)).toEqual(['alipay']);
  });

  /** Every channel that takes dollars (Alipay's cross-border mode too) refuses new orders (503) while `enabled`. */
  const dollarOutage = (on: TestStack, enabled: boolean) =>
    Promise.all(
      ['card', 'paypal', 'alipay'].map((channel) =>
        on.request('POST', `/sandbox/v1/channels/${channel}/outage`, { operations: ['create'], enabled }),
      ),
    );

  it('keeps a dollar payment processing while every dollar channel is down, and opens it when the card processor is back', async () => {
    await dollarOutage(stack, true);
    try {
      const body = buildPaymentRequest({ currency: 'USD' });
      const paymentId = testPaymentId(body.orderId as string);
      const answer = stack.request('POST', '/v1/payments', body);
      const waiting = await pollUntil(
        async () => (await stack.request('GET', `/v1/payments/${paymentId}`)).body,
        (payment) => eventsOf(payment).includes('channel.open_retry'),
      );
      expect(waiting).toMatchObject({ status: 'processing', channel: null });
      await stack.request('POST', '/sandbox/v1/channels/card/outage', { operations: ['create'], enabled: false });
      const created = await answer;
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ paymentId, status: 'awaiting_payment', channel: 'card' });
      const events = eventsOf((await stack.request('GET', `/v1/payments/${paymentId}`)).body);
      expect(events.filter((e) => e === 'channel.order_created')).toHaveLength(1);
      expect(events.indexOf('channel.open_retry')).toBeLessThan(events.indexOf('channel.order_created'));
      expect((await onlyChannelOrder(stack, paymentId)).channel).toBe('card');
      await payAtChannel(stack, paymentId);
      await waitForStatus(stack, paymentId, 'succeeded');
      await recordHistory(stack.temporal.client, paymentId, 'opened-after-retry');
    } finally {
      await dollarOutage(stack, false);
    }
  });

  it('fails a dollar payment with 503 channels_unavailable once every dollar channel stayed down for CHANNEL_OPEN_RETRY_SECONDS', async () => {
    const brief = await startStack({ env: { CHANNEL_OPEN_RETRY_SECONDS: '5' } });
    await dollarOutage(brief, true);
    try {
      const body = buildPaymentRequest({ currency: 'USD' });
      const res = await brief.request('POST', '/v1/payments', body);
      expect([res.status, res.body.error?.code]).toEqual([503, 'channels_unavailable']);
      const doc = await brief.database.models.payments.findOne({ _id: testPaymentId(body.orderId as string) }).lean();
      expect(doc?.status).toBe('failed');
      const events = (doc?.timeline ?? []).map((t: { event: string }) => t.event);
      expect(events.filter((e: string) => e === 'channel.open_retry').length).toBeGreaterThanOrEqual(1);
      expect(events.filter((e: string) => e === 'channel.unavailable').length).toBeGreaterThanOrEqual(4);
    } finally {
      await dollarOutage(brief, false);
      await brief.stop();
    }
  });
});
