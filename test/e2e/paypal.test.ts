import { createSign, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paypalTransmissionString } from '../../src/channels/paypal/protocol.js';
import { generatePaypalKeys } from '../../src/crypto/keyring.js';
import { paypalCertificateName, paypalOrderIdOf } from '../../src/sandbox/channels/paypal/protocol.js';
import { expectChannelBooks, onlyChannelOrder } from '../support/books.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * PayPal end to end: the API, the worker, the saga and the sandbox's PayPal (Orders v2, approval
 * on its page, capture by the saga, refunds, webhooks signed with a certificate the API fetches)
 * over real HTTP, with the real Temporal and MongoDB-wire servers. An approval whose webhook is
 * lost is captured at the window's end: test/e2e/payment-window.test.ts.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A course priced in dollars, for which the platform prefers PayPal. */
async function createPaypalPayment(amount = 4_900) {
  const body = buildPaymentRequest({
    currency: 'USD',
    channel: 'paypal',
    checkout: 'channel',
    items: [buildItem({ unitAmount: amount })],
  });
  const res = await stack.request('POST', '/v1/payments', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { body, payment: res.body };
}

const timeline = async (paymentId: string): Promise<[string, string | undefined][]> =>
  (await stack.request('GET', `/v1/payments/${paymentId}`)).body.timeline.map(
    (t: { event: string; detail?: string }) => [t.event, t.detail],
  );

/** A webhook as PayPal sends one, signed with `privateKey` and naming `certUrl`. */
function signedWebhook(event: object, privateKey: string, webhookId: string, certUrl: string) {
  const body = JSON.stringify(event);
  const transmissionId = randomUUID();
  const transmissionTime = new Date().toISOString();
  const signature = createSign('RSA-SHA256')
    .update(paypalTransmissionString(transmissionId, transmissionTime, webhookId, body))
    .sign(privateKey, 'base64');
  return fetch(`${stack.baseUrl}/v1/callbacks/paypal`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'paypal-transmission-id': transmissionId,
      'paypal-transmission-time': transmissionTime,
      'paypal-transmission-sig': signature,
      'paypal-cert-url': certUrl,
      'paypal-auth-algo': 'SHA256withRSA',
    },
    body,
  });
}

describe('paying a course with PayPal', () => {
  it('captures after the learner approves, leaves a declined capture payable, and succeeds once after duplicate webhooks', async () => {
    const { body, payment } = await createPaypalPayment();
    expect(payment).toMatchObject({ status: 'awaiting_payment', channel: 'paypal', currency: 'USD', amount: 4_900 });
    const orderId = paypalOrderIdOf(payment.paymentId as string);
    expect(payment.payUrl).toBe(`${stack.baseUrl}/sandbox/paypal/checkoutnow?token=${orderId}`);
    const page = await fetch(payment.payUrl as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('49.00');

    // The learner's funding is declined at capture: PayPal says so and the payment stays payable.
    expect((await payAtChannel(stack, payment.paymentId, { outcome: 'declined' })).tradeState).toBe('APPROVED');
    await expect
      .poll(() => timeline(payment.paymentId))
      .toContainEqual([
        'channel.capture',
        expect.stringMatching(
          /^approved \(notification WH-[0-9A-F]+\): paypal did not take the money \(INSTRUMENT_DECLINED\)$/,
        ),
      ]);
    await expect
      .poll(() =>
        stack.database.models.callbacks.countDocuments({ outTradeNo: payment.paymentId, tradeState: 'NOT_PAID' }),
      )
      .toBe(1);
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body).toMatchObject({
      status: 'awaiting_payment',
      attempts: [{ attempt: 1, channel: 'paypal', outcome: 'declined', reason: 'INSTRUMENT_DECLINED' }],
    });

    // Approved again, with every webhook sent three times: one capture, one payment.
    await payAtChannel(stack, payment.paymentId, { notifications: 3 });
    const done = await waitForStatus(stack, payment.paymentId, 'succeeded');
    expect(done.channelTradeNo).toMatch(/^[0-9A-F]{17}$/);
    const { models } = stack.database;
    await expect
      .poll(() => models.callbacks.countDocuments({ outTradeNo: payment.paymentId, tradeState: 'PAID' }))
      .toBe(3);
    expect(await models.vouchers.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(
      await models.callbacks.countDocuments({ outTradeNo: payment.paymentId, tradeState: 'PAID', outcome: 'applied' }),
    ).toBe(1);
    expect((await timeline(payment.paymentId)).filter(([event]) => event === 'channel.capture')).toHaveLength(2);
    await expectChannelBooks(stack, payment.paymentId, { captured: 4_900, refunds: [] });
    expect(await platformEvents(stack, body.orderId as string)).toEqual([
      expect.objectContaining({ type: 'payment.attempt_failed', deliveries: 1 }),
      expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
    ]);
  });

  it('cancels an approved payment whose approval webhook was lost without capturing it', async () => {
    const { body, payment } = await createPaypalPayment();
    expect((await payAtChannel(stack, payment.paymentId, { notifications: 0 })).tradeState).toBe('APPROVED');
    const canceled = await stack.request('POST', `/v1/payments/${payment.paymentId}/cancel`, {
      reason: 'changed mind',
    });
    expect([canceled.status, canceled.body.status], JSON.stringify(canceled.body)).toEqual([200, 'canceled']);
    expect(await timeline(payment.paymentId)).not.toContainEqual(['channel.capture', expect.anything()]);
    await expectChannelBooks(stack, payment.paymentId, { captured: 0, refunds: [], state: 'NOT_PAID' });
    expect((await platformEvents(stack, body.orderId as string)).map((e) => e.type)).toEqual(['payment.canceled']);
  });

  it('refuses a webhook signed with another key, or naming a certificate elsewhere, and changes nothing', async () => {
    const { payment } = await createPaypalPayment();
    const stranger = generatePaypalKeys();
    const event = {
      id: `WH-${uniqueId('forged')}`,
      event_type: 'PAYMENT.CAPTURE.COMPLETED',
      resource_type: 'capture',
      resource: {
        id: '1FORGEDCAPTURE001',
        status: 'COMPLETED',
        amount: { currency_code: 'USD', value: '49.00' },
        custom_id: payment.paymentId,
      },
    };
    const ours = `${stack.config.PAYPAL_CERT_URL_PREFIX}${paypalCertificateName(stack.keyring.paypal!.signingCertificates!)}`;
    expect((await fetch(ours)).status).toBe(200);

    const forged = await signedWebhook(event, stranger.signingPrivateKey!, stack.keyring.paypal!.webhookId, ours);
    const elsewhere = await signedWebhook(
      event,
      stranger.signingPrivateKey!,
      stack.keyring.paypal!.webhookId,
      'https://attacker.example/v1/notifications/certs/CERT-1',
    );

    expect([forged.status, elsewhere.status]).toEqual([400, 400]);
    const records = await stack.database.models.callbacks.find({ outTradeNo: payment.paymentId }).lean();
    expect(records.map((r) => [r.verified, r.outcome, r.reason]).sort()).toEqual([
      [false, 'rejected', 'bad_signature'],
      [false, 'rejected', 'untrusted_certificate_url'],
    ]);
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body.status).toBe('awaiting_payment');
  });

  it('refunds part of a PayPal payment once, confirmed by its PAYMENT.CAPTURE.REFUNDED webhook', async () => {
    const { payment } = await createPaypalPayment();
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
    await expect
      .poll(async () => (await onlyChannelOrder(stack, payment.paymentId)).notifications.map((n) => n.kind).sort())
      .toEqual(['payment', 'refund']);
  });

  it('fails over to the card processor when PayPal is down at order creation', async () => {
    const outage = (enabled: boolean) =>
      stack.request('POST', '/sandbox/v1/channels/paypal/outage', { operations: ['create'], enabled });
    expect((await outage(true)).status).toBe(200);
    try {
      const created = await stack.request(
        'POST',
        '/v1/payments',
        buildPaymentRequest({ currency: 'USD', channel: 'paypal' }),
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.channel).toBe('card');
      expect(await timeline(created.body.paymentId as string)).toContainEqual([
        'channel.unavailable',
        expect.stringMatching(/^paypal: /),
      ]);
    } finally {
      await outage(false);
    }
  });

  it('takes dollars by card first, and by PayPal while the card processor is down', async () => {
    const outage = (enabled: boolean) =>
      stack.request('POST', '/sandbox/v1/channels/card/outage', { operations: ['create'], enabled });
    expect((await outage(true)).status).toBe(200);
    try {
      const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ currency: 'USD' }));
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.channel).toBe('paypal');
      const books = (await stack.request('GET', `/sandbox/v1/payments/${created.body.paymentId}/books`)).body;
      expect(books.orders.map((o: { channel: string }) => o.channel)).toEqual(['paypal']);
    } finally {
      await outage(false);
    }
  });
});
