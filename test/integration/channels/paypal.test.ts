import { createSign, randomUUID } from 'node:crypto';
import {
  ApiError,
  CheckoutPaymentIntent,
  Client,
  Environment,
  OrdersController,
  PaymentsController,
} from '@paypal/paypal-server-sdk';
import express, { type Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaypalAdapter } from '../../../src/channels/paypal/adapter.js';
import { paypalTransmissionString } from '../../../src/channels/paypal/protocol.js';
import type { ChannelAdapter, RawCallback, VerificationResult } from '../../../src/channels/types.js';
import { generatePaypalKeys } from '../../../src/crypto/keyring.js';
import { paypalCertificateName, paypalOrderIdOf } from '../../../src/sandbox/channels/paypal/protocol.js';
import { testPaymentId, uniqueId } from '../../support/builders.js';
import { startChannelSandbox, type ChannelSandbox } from '../../support/channel-sandbox.js';
import { keepingReferences } from '../../support/channel-references.js';

/**
 * The PayPal adapter against the sandbox's PayPal, and PayPal's own server SDK
 * (`@paypal/paypal-server-sdk`) against the same sandbox as an independent client: orders,
 * approval, capture, refunds, and webhooks verified with a certificate fetched from the sandbox.
 */
const SANDBOX_PAYPAL = 'https://api-m.sandbox.paypal.com';

let sandbox: ChannelSandbox;
let app: Express;
let baseUrl: string;
let keyring: ChannelSandbox['keyring'];
let simulators: ChannelSandbox['simulators'];
let adapter: ChannelAdapter;
const webhooks: { raw: RawCallback; result: VerificationResult }[] = [];

function paypalAdapter(keys = keyring.paypal!, prefix = `${baseUrl}/sandbox/paypal/v1/notifications/certs/`) {
  return keepingReferences(
    createPaypalAdapter({
      apiUrl: `${baseUrl}/sandbox/paypal`,
      certUrlPrefix: prefix,
      keyring: keys,
      timeoutMs: 10_000,
      maxAmount: 10_000_000,
    }),
  );
}

/** PayPal's SDK, pointed at the sandbox: it knows only PayPal's two hosts, so its requests are moved. */
class SandboxClient extends Client {
  constructor(
    config: ConstructorParameters<typeof Client>[0],
    private readonly sandboxBase: () => string,
  ) {
    super(config);
  }
  override getRequestBuilderFactory(): ReturnType<Client['getRequestBuilderFactory']> {
    const inner = super.getRequestBuilderFactory();
    return (method, path) => {
      const builder = inner(method, path);
      builder.interceptRequest((request) => ({
        ...request,
        url: request.url.replace(SANDBOX_PAYPAL, this.sandboxBase()),
      }));
      return builder;
    };
  }
}

beforeAll(async () => {
  sandbox = await startChannelSandbox('paypal');
  ({ app, baseUrl, keyring, simulators } = sandbox);
  adapter = paypalAdapter();
  app.post('/v1/callbacks/paypal', express.raw({ type: () => true }), async (req, res) => {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    const raw: RawCallback = { body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers };
    const result = await adapter.verifyNotification(raw);
    webhooks.push({ raw, result });
    const ack = result.ok ? adapter.ackSuccess() : adapter.ackFailure(result.reason);
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });
});

afterAll(async () => {
  await sandbox?.close();
});

async function openOrder(amount = 4_900) {
  const paymentId = testPaymentId(uniqueId('pp'));
  const order = await adapter.createOrder({
    paymentId,
    amount,
    currency: 'USD',
    subject: 'TypeScript from zero',
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    notifyUrl: `${baseUrl}/v1/callbacks/paypal`,
  });
  return { paymentId, order };
}

const verifiedFor = (paymentId: string) =>
  webhooks.flatMap(({ result }) =>
    result.ok && result.kind === 'payment' && result.notification.outTradeNo === paymentId ? [result.notification] : [],
  );

describe('the PayPal adapter through the sandbox', () => {
  it('opens an order, sees the approval, captures once, and reads it paid', async () => {
    const { paymentId, order } = await openOrder();
    expect(order).toMatchObject({
      channel: 'paypal',
      merchantId: keyring.paypal!.clientId,
      reference: paypalOrderIdOf(paymentId),
      payUrl: `${baseUrl}/sandbox/paypal/checkoutnow?token=${paypalOrderIdOf(paymentId)}`,
    });
    expect(await adapter.queryOrder(paymentId)).toMatchObject({ state: 'NOT_PAID', amount: 4_900, currency: 'USD' });
    expect(await adapter.captureOrder!(paymentId)).toEqual({ state: 'NOT_PAID', declineReason: 'ORDER_NOT_APPROVED' });

    const approved = await simulators.paypal.pay(paymentId, {
      outcome: 'success',
      notifications: 2,
      tamperAmount: false,
    });
    expect(approved).toMatchObject({ tradeState: 'APPROVED', notificationsSent: 2, channelTradeNo: null });
    expect(verifiedFor(paymentId)).toEqual([
      expect.objectContaining({
        state: 'APPROVED',
        amount: 4_900,
        currency: 'USD',
        channelTradeNo: paypalOrderIdOf(paymentId),
      }),
      expect.objectContaining({ state: 'APPROVED' }),
    ]);
    expect((await adapter.queryOrder(paymentId)).state).toBe('APPROVED');

    const captured = await adapter.captureOrder!(paymentId);
    expect(captured).toMatchObject({ state: 'PAID', amount: 4_900, currency: 'USD' });
    // A retried capture (same PayPal-Request-Id) answers the same capture; no second one is made.
    expect(await adapter.captureOrder!(paymentId)).toEqual(captured);
    await expect
      .poll(() => verifiedFor(paymentId).filter((n) => n.state === 'PAID'))
      .toEqual([
        expect.objectContaining({ channelTradeNo: captured.channelTradeNo, amount: 4_900 }),
        expect.objectContaining({ channelTradeNo: captured.channelTradeNo }),
      ]);
    expect(await adapter.queryOrder(paymentId)).toMatchObject({
      state: 'PAID',
      channelTradeNo: captured.channelTradeNo,
    });
    expect(await adapter.closeOrder(paymentId)).toBe('ALREADY_PAID');
    expect((await simulators.paypal.books(paymentId))?.captured).toBe(4_900);
  });

  it('answers a declined capture NOT_PAID with PayPal’s issue, notifies the denial, and captures a new approval', async () => {
    const { paymentId } = await openOrder();
    await simulators.paypal.pay(paymentId, { outcome: 'declined', notifications: 1, tamperAmount: false });
    expect(await adapter.captureOrder!(paymentId)).toEqual({ state: 'NOT_PAID', declineReason: 'INSTRUMENT_DECLINED' });
    await expect.poll(() => verifiedFor(paymentId).map((n) => n.state)).toEqual(['APPROVED', 'NOT_PAID']);
    expect((await adapter.queryOrder(paymentId)).state).toBe('NOT_PAID');

    await simulators.paypal.pay(paymentId, { outcome: 'success', notifications: 0, tamperAmount: false });
    expect((await adapter.captureOrder!(paymentId)).state).toBe('PAID');
  });

  it('closes an unpaid order by leaving it uncaptured, and refunds in parts once per refund id', async () => {
    const unpaid = await openOrder();
    expect(await adapter.closeOrder(unpaid.paymentId)).toBe('CLOSED');
    expect(await adapter.closeOrder(testPaymentId('never-made'))).toBe('NOT_FOUND');

    const { paymentId } = await openOrder(5_000);
    await simulators.paypal.setRefundBehaviour({ mode: 'immediate', outcome: 'success', notify: true });
    try {
      await simulators.paypal.pay(paymentId, { outcome: 'success', notifications: 0, tamperAmount: false });
      await adapter.captureOrder!(paymentId);
      const refund = (refundId: string, amount: number) =>
        adapter.refund({ paymentId, refundId, amount, totalAmount: 5_000, currency: 'USD', reason: 'changed mind' });
      const first = await refund(`${paymentId}-r1`, 2_000);
      expect(first).toMatchObject({ status: 'SUCCEEDED' });
      expect(await refund(`${paymentId}-r1`, 2_000)).toEqual(first);
      expect((await refund(`${paymentId}-r2`, 3_001)).status).toBe('FAILED');
      expect(await refund(`${paymentId}-r3`, 3_000)).toMatchObject({ status: 'SUCCEEDED' });
      expect(await adapter.queryRefund(paymentId, `${paymentId}-r1`)).toMatchObject({ status: 'SUCCEEDED' });
      await expect
        .poll(() =>
          webhooks.flatMap(({ result }) =>
            result.ok && result.kind === 'refund' && result.refund.outTradeNo === paymentId
              ? [[result.refund.refundId, result.refund.amount, result.refund.status]]
              : [],
          ),
        )
        .toEqual([
          [`${paymentId}-r1`, 2_000, 'SUCCEEDED'],
          [`${paymentId}-r3`, 3_000, 'SUCCEEDED'],
        ]);
      expect((await simulators.paypal.books(paymentId))?.refunded).toBe(5_000);
    } finally {
      await simulators.paypal.setRefundBehaviour({ mode: 'async', outcome: 'success', notify: true });
    }
  });

  it('refuses calls with another app’s secret', async () => {
    const stranger = paypalAdapter({ ...keyring.paypal!, clientSecret: generatePaypalKeys().clientSecret });
    await expect(stranger.queryOrder(testPaymentId('x'), 'ABC')).rejects.toMatchObject({
      name: 'ChannelRejectedError',
      code: 'invalid_client',
    });
  });
});

describe('PayPal webhook verification', () => {
  /** A delivery of `event`, signed as PayPal signs: over `id|time|webhookId|crc32(body)`. */
  function delivery(
    event: object,
    options: {
      key?: string;
      webhookId?: string;
      certUrl?: () => string;
      time?: Date;
      body?: (b: string) => string;
    } = {},
  ): RawCallback {
    const signed = JSON.stringify(event);
    const transmissionId = randomUUID();
    const transmissionTime = (options.time ?? new Date()).toISOString();
    const signature = createSign('RSA-SHA256')
      .update(
        paypalTransmissionString(
          transmissionId,
          transmissionTime,
          options.webhookId ?? keyring.paypal!.webhookId,
          signed,
        ),
      )
      .sign(options.key ?? keyring.paypal!.signingPrivateKey!, 'base64');
    return {
      body: Buffer.from(options.body?.(signed) ?? signed, 'utf8'),
      headers: {
        'paypal-transmission-id': transmissionId,
        'paypal-transmission-time': transmissionTime,
        'paypal-transmission-sig': signature,
        'paypal-cert-url':
          options.certUrl?.() ??
          `${baseUrl}/sandbox/paypal/v1/notifications/certs/${paypalCertificateName(keyring.paypal!.signingCertificates!)}`,
        'paypal-auth-algo': 'SHA256withRSA',
      },
    };
  }
  const paymentId = testPaymentId('webhook');
  const completed = {
    id: 'WH-1',
    event_type: 'PAYMENT.CAPTURE.COMPLETED',
    resource: {
      id: '2GG279541U471931P',
      status: 'COMPLETED',
      amount: { currency_code: 'JPY', value: '4900' },
      custom_id: paymentId,
    },
  };

  it('accepts PayPal’s signature and reads the capture in minor units of its currency', async () => {
    expect(await adapter.verifyNotification(delivery(completed))).toEqual({
      ok: true,
      kind: 'payment',
      notification: expect.objectContaining({
        channel: 'paypal',
        notificationId: 'WH-1',
        outTradeNo: paymentId,
        channelTradeNo: '2GG279541U471931P',
        state: 'PAID',
        amount: 4_900,
        currency: 'JPY',
      }),
    });
  });

  it.each([
    ['a changed body', { body: (b: string) => b.replace('4900', '4901') }, 'bad_signature'],
    ['another webhook id', { webhookId: 'OTHER-WH' }, 'bad_signature'],
    ['another signer', { key: generatePaypalKeys().signingPrivateKey! }, 'bad_signature'],
    ['an old transmission', { time: new Date(Date.now() - 3_600_000) }, 'stale_timestamp'],
    [
      'a certificate elsewhere',
      { certUrl: (): string => 'https://attacker.example/v1/notifications/certs/CERT-1' },
      'untrusted_certificate_url',
    ],
    [
      'a certificate URL with a query',
      { certUrl: (): string => `${baseUrl}/sandbox/paypal/v1/notifications/certs/X?u=1` },
      'untrusted_certificate_url',
    ],
    [
      'a certificate that is not there',
      { certUrl: (): string => `${baseUrl}/sandbox/paypal/v1/notifications/certs/CERT-0` },
      'certificate_unavailable',
    ],
  ] as const)('refuses %s', async (_what, options, reason) => {
    const result = await adapter.verifyNotification(delivery(completed, options));
    expect(result).toMatchObject({ ok: false, reason, outTradeNo: paymentId });
  });

  it('refuses a certificate that does not chain to the configured root', async () => {
    const trustingAnother = paypalAdapter({
      ...keyring.paypal!,
      rootCertificate: generatePaypalKeys().rootCertificate,
    });
    expect(await trustingAnother.verifyNotification(delivery(completed))).toMatchObject({
      ok: false,
      reason: 'untrusted_certificate',
    });
  });
});

describe('PayPal’s own SDK against the sandbox', () => {
  const sdk = () => {
    const client = new SandboxClient(
      {
        environment: Environment.Sandbox,
        timeout: 10_000,
        clientCredentialsAuthCredentials: {
          oAuthClientId: keyring.paypal!.clientId,
          oAuthClientSecret: keyring.paypal!.clientSecret,
        },
      },
      () => `${baseUrl}/sandbox/paypal`,
    );
    return { orders: new OrdersController(client), payments: new PaymentsController(client) };
  };

  it('creates, captures and refunds an order with PayPal’s own client, and reads what it expects', async () => {
    const { orders, payments } = sdk();
    const paymentId = testPaymentId(uniqueId('sdk'));
    const created = await orders.createOrder({
      paypalRequestId: `create-${paymentId}`,
      prefer: 'return=representation',
      body: {
        intent: CheckoutPaymentIntent.Capture,
        purchaseUnits: [
          { referenceId: 'default', customId: paymentId, amount: { currencyCode: 'EUR', value: '12.34' } },
        ],
      },
    });
    expect(created.statusCode).toBe(201);
    expect(created.result).toMatchObject({ id: paypalOrderIdOf(paymentId), status: 'PAYER_ACTION_REQUIRED' });
    expect(created.result.links?.find((l) => l.rel === 'payer-action')?.href).toContain(
      '/sandbox/paypal/checkoutnow?token=',
    );

    await expect(
      orders.captureOrder({ id: created.result.id!, paypalRequestId: `capture-${paymentId}` }),
    ).rejects.toMatchObject({
      statusCode: 422,
      result: { details: [expect.objectContaining({ issue: 'ORDER_NOT_APPROVED' })] },
    });
    await simulators.paypal.pay(paymentId, { outcome: 'success', notifications: 0, tamperAmount: false });
    expect((await orders.getOrder({ id: created.result.id! })).result.status).toBe('APPROVED');

    const captured = await orders.captureOrder({
      id: created.result.id!,
      paypalRequestId: `capture-${paymentId}`,
      prefer: 'return=representation',
    });
    const capture = captured.result.purchaseUnits?.[0]?.payments?.captures?.[0];
    expect(captured.result.status).toBe('COMPLETED');
    expect(capture).toMatchObject({
      status: 'COMPLETED',
      amount: { currencyCode: 'EUR', value: '12.34' },
      customId: paymentId,
    });

    const refunded = await payments.refundCapturedPayment({
      captureId: capture!.id!,
      paypalRequestId: `refund-${paymentId}`,
      prefer: 'return=representation',
      body: { amount: { currencyCode: 'EUR', value: '2.34' }, invoiceId: `${paymentId}-r1`, noteToPayer: 'sorry' },
    });
    expect(refunded.result).toMatchObject({ status: 'PENDING', amount: { currencyCode: 'EUR', value: '2.34' } });
    expect((await payments.getRefund({ refundId: refunded.result.id! })).result.invoiceId).toBe(`${paymentId}-r1`);

    const tooMuch = payments.refundCapturedPayment({
      captureId: capture!.id!,
      paypalRequestId: `refund-${paymentId}-2`,
      body: { amount: { currencyCode: 'EUR', value: '10.01' }, invoiceId: `${paymentId}-r2` },
    });
    await expect(tooMuch).rejects.toBeInstanceOf(ApiError);
    await expect(tooMuch).rejects.toMatchObject({
      statusCode: 422,
      result: { details: [expect.objectContaining({ issue: 'REFUND_AMOUNT_EXCEEDED' })] },
    });
  });
});
