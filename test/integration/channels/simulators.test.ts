import type { Server } from 'node:http';
import { once } from 'node:events';
import express from 'express';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAlipayAdapter } from '../../../src/channels/alipay/adapter.js';
import { signedAlipayRequest } from '../../../src/channels/alipay/protocol.js';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAdapter,
  type RawCallback,
  type VerificationResult,
} from '../../../src/channels/types.js';
import { createCardAdapter } from '../../../src/channels/card/adapter.js';
import { createPaypalAdapter } from '../../../src/channels/paypal/adapter.js';
import { createUnionpayAdapter } from '../../../src/channels/unionpay/adapter.js';
import { unionpayRefundOrderIdOf } from '../../../src/channels/unionpay/protocol.js';
import { createWechatPayAdapter } from '../../../src/channels/wechatpay/adapter.js';
import { generateKeyring, type Keyring } from '../../../src/crypto/keyring.js';
import { createLogger } from '../../../src/logger.js';
import { CashierRefusedError, createChannelSimulators } from '../../../src/sandbox/channels/index.js';
import { SandboxNotFoundError, type ChannelSimulator } from '../../../src/sandbox/channels/types.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../../domain/payment.js';
import { testPaymentId, uniqueId } from '../../support/builders.js';
import { channelOrderNo, keepingReferences } from '../../support/channel-references.js';
import { cashierFormOf } from '../../support/payments.js';
import { withDatabase } from '../../support/stack.js';

/** The channels whose payer's `pay` takes the money; PayPal's approve-then-capture flow has test/integration/channels/paypal.test.ts. */
const CHARGED_ON_PAY = PAYMENT_CHANNELS.filter((channel) => channel !== 'paypal');

/**
 * The channel adapters against the sandbox simulators over real HTTP, with the simulators' books
 * in the provisioned MongoDB-wire server and a notify endpoint that verifies what arrives.
 */

interface Callback {
  channel: PaymentChannel;
  raw: RawCallback;
  result: VerificationResult;
  outTradeNo: string | undefined;
  ackStatus: number;
}

const TIME_SCALE = 0.001;
const FORM_SECRET = `sct_test_${'s'.repeat(40)}`;
const logger = createLogger({ LOG_LEVEL: 'silent' }, 'test');

let server: Server;
let baseUrl: string;
let connection: Connection;
let keyring: Keyring;
/**
 * Another merchant's and other providers' keys, made before the tests: generating keys blocks
 * the event loop this process's simulators answer on, and a connection kept alive across a long
 * block can be reset under the client.
 */
let stranger: Keyring;
let simulators: Record<PaymentChannel, ChannelSimulator>;
let adapters: Record<PaymentChannel, ChannelAdapter>;
const callbacks: Callback[] = [];
/** How many deliveries of an order's notification the notify endpoint still refuses. */
const refusals = new Map<string, number>();

/**
 * Generous: no test here waits for a timeout (a lost answer drops the connection), and a machine
 * busy with other work answered a forged-key query after more than 5 s.
 */
const ADAPTER_TIMEOUT_MS = 15_000;

function adapterFor(channel: PaymentChannel, keys: Keyring = keyring): ChannelAdapter {
  switch (channel) {
    case 'alipay':
      return createAlipayAdapter({
        gatewayUrl: `${baseUrl}/sandbox/alipay/gateway.do`,
        keyring: keys.alipay,
        timeoutMs: ADAPTER_TIMEOUT_MS,
        maxAmount: 100_000_000,
      });
    case 'wechatpay':
      return createWechatPayAdapter({
        baseUrl: `${baseUrl}/sandbox/wechatpay`,
        keyring: keys.wechatpay,
        timeoutMs: ADAPTER_TIMEOUT_MS,
        maxAmount: 50_000_000,
      });
    case 'card':
      if (keys.card === undefined) throw new Error('the test keyring has no card section');
      return keepingReferences(
        createCardAdapter({
          apiUrl: `${baseUrl}/sandbox/card`,
          payPageUrl: `${baseUrl}/sandbox/card/pay`,
          keyring: keys.card,
          timeoutMs: ADAPTER_TIMEOUT_MS,
          maxAmount: 10_000_000,
        }),
      );
    case 'paypal':
      if (keys.paypal === undefined) throw new Error('the test keyring has no PayPal section');
      return keepingReferences(
        createPaypalAdapter({
          apiUrl: `${baseUrl}/sandbox/paypal`,
          certUrlPrefix: `${baseUrl}/sandbox/paypal/v1/notifications/certs/`,
          keyring: keys.paypal,
          timeoutMs: ADAPTER_TIMEOUT_MS,
          maxAmount: 10_000_000,
        }),
      );
    case 'unionpay':
      if (keys.unionpay === undefined) throw new Error('the test keyring has no UnionPay section');
      return keepingReferences(
        createUnionpayAdapter({
          gatewayUrl: `${baseUrl}/sandbox/unionpay`,
          keyring: keys.unionpay,
          timeoutMs: ADAPTER_TIMEOUT_MS,
          maxAmount: 50_000_000,
        }),
      );
  }
}

beforeAll(async () => {
  connection = await mongoose
    .createConnection(withDatabase(inject('mongoUri'), `kp_${uniqueId('channels').replace(/-/g, '_')}`), {
      autoIndex: false,
      serverSelectionTimeoutMS: 10_000,
    })
    .asPromise();
  keyring = generateKeyring();
  stranger = generateKeyring();
  const app = express();
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  baseUrl = `http://127.0.0.1:${address.port}`;

  simulators = createChannelSimulators({
    connection,
    keyring,
    publicBaseUrl: baseUrl,
    timeScale: TIME_SCALE,
    formSecret: FORM_SECRET,
    logger,
  });
  adapters = {
    alipay: adapterFor('alipay'),
    wechatpay: adapterFor('wechatpay'),
    unionpay: adapterFor('unionpay'),
    card: adapterFor('card'),
    paypal: adapterFor('paypal'),
  };
  for (const channel of PAYMENT_CHANNELS) app.use(`/sandbox/${channel}`, simulators[channel].router);
  // The card processor sends its events to the one endpoint registered with it, as the API's is.
  app.post(['/notify/:channel', '/v1/callbacks/:channel'], express.raw({ type: () => true }), async (req, res) => {
    const channel = req.params.channel as PaymentChannel;
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    const raw: RawCallback = { body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers };
    const adapter = adapters[channel];
    const result = await adapter.verifyNotification(raw);
    const outTradeNo = !result.ok
      ? result.outTradeNo
      : result.kind === 'payment'
        ? result.notification.outTradeNo
        : result.refund.outTradeNo;
    const refuse = outTradeNo === undefined ? 0 : (refusals.get(outTradeNo) ?? 0);
    if (outTradeNo !== undefined && refuse > 0) refusals.set(outTradeNo, refuse - 1);
    const ack =
      result.ok && refuse === 0 ? adapter.ackSuccess() : adapter.ackFailure(result.ok ? 'busy' : result.reason);
    callbacks.push({ channel, raw, result, outTradeNo, ackStatus: ack.status });
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });
});

afterAll(async () => {
  for (const simulator of Object.values(simulators ?? {})) simulator.close();
  server?.closeAllConnections();
  server?.close();
  await connection?.dropDatabase().catch(() => undefined);
  await connection?.close();
});

function callbacksFor(outTradeNo: string): Callback[] {
  return callbacks.filter((c) => c.outTradeNo === outTradeNo);
}

function notificationsFor(outTradeNo: string) {
  return callbacksFor(outTradeNo).flatMap((c) =>
    c.result.ok && c.result.kind === 'payment' ? [c.result.notification] : [],
  );
}

async function openOrder(channel: PaymentChannel, overrides: { amount?: number; expiresInMs?: number } = {}) {
  const paymentId = testPaymentId(uniqueId('ord'));
  const order = await adapters[channel].createOrder({
    paymentId,
    amount: overrides.amount ?? 19_900,
    currency: 'CNY',
    subject: 'TypeScript from zero',
    expiresAt: new Date(Date.now() + (overrides.expiresInMs ?? 15 * 60_000)).toISOString(),
    notifyUrl: `${baseUrl}/notify/${channel}`,
  });
  return { paymentId, order };
}

/** Opens an order through `adapter` (UnionPay's refusals of a request show on create). */
function openOrderWith(adapter: ChannelAdapter) {
  return adapter.createOrder({
    paymentId: testPaymentId(uniqueId('ord')),
    amount: 100,
    currency: 'CNY',
    subject: 'TypeScript from zero',
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    notifyUrl: `${baseUrl}/notify/${adapter.channel}`,
  });
}

const paySuccess = { outcome: 'success', notifications: 1, tamperAmount: false } as const;

/** The refunds a channel booked against a payment (UnionPay books them under its `orderId`). */
function sandboxRefunds(paymentId: string): Promise<number> {
  return connection
    .collection('sandbox_channel_refunds')
    .countDocuments({ outTradeNo: { $in: [paymentId, paymentId.slice('pay_'.length)] } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(CHARGED_ON_PAY)('%s through its sandbox', (channel) => {
  const merchantId = () =>
    ({
      alipay: keyring.alipay.sellerId,
      wechatpay: keyring.wechatpay.mchId,
      unionpay: keyring.unionpay?.merId,
      card: keyring.card?.accountId,
    })[channel];
  const appId = () =>
    ({
      alipay: keyring.alipay.appId,
      wechatpay: keyring.wechatpay.appId,
      unionpay: keyring.unionpay?.merId,
      card: keyring.card?.accountId,
    })[channel];
  const tradeNoPattern = {
    alipay: /^20\d{26}$/,
    wechatpay: /^4200\d{24}$/,
    unionpay: /^\d{21}$/,
    card: /^ch_[0-9a-f]{24}$/,
  }[channel];
  /** UnionPay has no close: an unpaid order ends at its payTimeout. */
  const closes = channel !== 'unionpay';
  /** Alipay and WeChat Pay report a refunded trade as such; UnionPay and the card processor keep it paid. */
  const reportsRefunded = channel === 'alipay' || channel === 'wechatpay';
  /** The card processor tells the merchant of a declined attempt; the others say nothing. */
  const notifiesDeclines = channel === 'card';
  /** Card intents do not expire: the merchant cancels them. */
  const expires = channel !== 'card';
  /** Card answers are not signed (the processor relies on TLS). */
  const signsAnswers = channel !== 'card';

  it('notifies a payment once with the paid amount, then reads PAID, will not close, refunds once for a retried refund id (processing, then succeeded) and reads REFUNDED', async () => {
    const adapter = adapters[channel];
    const { paymentId, order } = await openOrder(channel);
    expect(order).toMatchObject({ channel, merchantId: merchantId() });
    expect(await adapter.queryOrder(paymentId)).toMatchObject({ state: 'NOT_PAID', amount: 19_900, currency: 'CNY' });

    const paid = await simulators[channel].pay(paymentId, paySuccess);

    expect(paid).toMatchObject({ channel, outTradeNo: paymentId, tradeState: 'PAID', notificationsSent: 1 });
    expect(paid.channelTradeNo).toMatch(tradeNoPattern);
    expect(notificationsFor(paymentId)).toEqual([
      expect.objectContaining({
        channel,
        outTradeNo: paymentId,
        channelTradeNo: paid.channelTradeNo,
        state: 'PAID',
        amount: 19_900,
        currency: 'CNY',
        merchantId: merchantId(),
        appId: appId(),
      }),
    ]);
    const trade = await adapter.queryOrder(paymentId);
    expect(trade).toMatchObject({ state: 'PAID', channelTradeNo: paid.channelTradeNo, amount: 19_900 });
    if (reportsRefunded) expect(Date.now() - Date.parse(trade.paidAt ?? '')).toBeLessThan(60_000);
    expect(await adapter.closeOrder(paymentId)).toBe('ALREADY_PAID');

    const refund = {
      paymentId,
      refundId: uniqueId('rf'),
      amount: 19_900,
      totalAmount: 19_900,
      currency: 'CNY',
      reason: 'test',
    } as const;
    const first = await adapter.refund(refund);
    const retried = await adapter.refund(refund);

    // Refunds are asynchronous at both channels: processing first, settled after a short delay
    // (so short here that a loaded machine may only see it settled).
    expect(first.status).toMatch(/^(PROCESSING|SUCCEEDED)$/);
    // The retry answers the same refund (processing still, or settled on a slow run), not a new one.
    expect(retried).toEqual({ ...first, status: expect.stringMatching(/^(PROCESSING|SUCCEEDED)$/) });
    expect(await sandboxRefunds(paymentId)).toBe(1);
    await expect
      .poll(async () => (await adapter.queryRefund(paymentId, refund.refundId)).status, {
        timeout: 10_000,
        interval: 50,
      })
      .toBe('SUCCEEDED');
    expect((await adapter.refund(refund)).status).toBe('SUCCEEDED');
    expect(await sandboxRefunds(paymentId)).toBe(1);
    expect((await adapter.queryOrder(paymentId)).state).toBe(reportsRefunded ? 'REFUNDED' : 'PAID');
  });

  it('sends the amount in the channel’s wire unit: yuan string for Alipay, integer fen for WeChat Pay', async () => {
    const { paymentId } = await openOrder(channel, { amount: 1 });
    await simulators[channel].pay(paymentId, paySuccess);

    if (channel === 'alipay') {
      expect(callbacksFor(paymentId)[0]?.raw.body.toString()).toContain('total_amount=0.01');
    }
    expect(notificationsFor(paymentId)[0]?.amount).toBe(1);
  });

  it('sends nothing when the notification is lost, and the query still finds the payment', async () => {
    const { paymentId } = await openOrder(channel);
    const paid = await simulators[channel].pay(paymentId, { ...paySuccess, notifications: 0 });
    await sleep(300);

    expect(paid).toMatchObject({ tradeState: 'PAID', notificationsSent: 0 });
    expect(callbacksFor(paymentId)).toHaveLength(0);
    expect(await adapters[channel].queryOrder(paymentId)).toMatchObject({
      state: 'PAID',
      channelTradeNo: paid.channelTradeNo,
    });
  });

  it('delivers five duplicate notifications five times with one notification id', async () => {
    const { paymentId } = await openOrder(channel);
    await simulators[channel].pay(paymentId, { ...paySuccess, notifications: 5 });

    const notifications = notificationsFor(paymentId);
    expect(notifications).toHaveLength(5);
    expect(new Set(notifications.map((n) => n.notificationId)).size).toBe(1);
  });

  it('resends an unacknowledged notification with the same id until it is acknowledged', async () => {
    const { paymentId } = await openOrder(channel);
    refusals.set(paymentId, 2);
    await simulators[channel].pay(paymentId, paySuccess);

    await expect.poll(() => callbacksFor(paymentId).length, { timeout: 10_000, interval: 50 }).toBe(3);
    await sleep(channel === 'alipay' ? 1_500 : 500);
    const deliveries = callbacksFor(paymentId);
    expect(deliveries.map((c) => c.ackStatus)).toEqual([400, 400, channel === 'wechatpay' ? 204 : 200]);
    expect(new Set(notificationsFor(paymentId).map((n) => n.notificationId)).size).toBe(1);
  });

  it('leaves a declined payment unpaid and sends nothing', async () => {
    const { paymentId } = await openOrder(channel);
    const declined = await simulators[channel].pay(paymentId, { ...paySuccess, outcome: 'declined' });
    await sleep(200);

    expect(declined).toMatchObject({
      tradeState: 'NOT_PAID',
      channelTradeNo: null,
      notificationsSent: notifiesDeclines ? 1 : 0,
    });
    expect(
      callbacksFor(paymentId).map((c) => c.result.ok && c.result.kind === 'payment' && c.result.notification.state),
    ).toEqual(notifiesDeclines ? ['NOT_PAID'] : []);
    expect((await adapters[channel].queryOrder(paymentId)).state).toBe('NOT_PAID');
  });

  it('signs a misreported amount correctly: verification passes and shows the other amount', async () => {
    const { paymentId } = await openOrder(channel);
    await simulators[channel].pay(paymentId, { ...paySuccess, tamperAmount: true });

    expect(notificationsFor(paymentId).map((n) => n.amount)).toEqual([20_000]);
    expect((await adapters[channel].queryOrder(paymentId)).amount).toBe(19_900);
  });

  it.each([
    ['in the middle', (length: number) => Math.floor(length / 2)],
    ['near the end', (length: number) => length - 3],
  ])('fails verification of a delivered notification with one byte changed %s', async (_where, at) => {
    const { paymentId } = await openOrder(channel);
    await simulators[channel].pay(paymentId, paySuccess);
    const delivered = callbacksFor(paymentId)[0]?.raw;
    if (!delivered) throw new Error('no notification arrived');
    const body = Buffer.from(delivered.body);
    const index = at(body.length);
    body[index] = (body[index] ?? 0) ^ 1;

    expect(adapters[channel].verifyNotification({ ...delivered, body })).toMatchObject({ ok: false });
    const forged = await fetch(`${baseUrl}/notify/${channel}`, {
      method: 'POST',
      headers: Object.fromEntries(
        Object.entries(delivered.headers).filter(([n]) => /^(content-type|wechatpay-|stripe-signature)/.test(n)),
      ) as Record<string, string>,
      body,
    });
    expect(forged.status).toBe(400);
  });

  it.skipIf(!closes)('closes an unpaid order, after which the payer cannot pay and it reads CLOSED', async () => {
    const { paymentId } = await openOrder(channel);

    expect(await adapters[channel].closeOrder(paymentId)).toBe('CLOSED');
    await expect(simulators[channel].pay(paymentId, paySuccess)).rejects.toThrow(CashierRefusedError);
    expect((await adapters[channel].queryOrder(paymentId)).state).toBe('CLOSED');
    expect(await adapters[channel].closeOrder(paymentId)).toBe('CLOSED');
    expect(callbacksFor(paymentId)).toHaveLength(0);
  });

  it.skipIf(!closes)('lets exactly one of "pay" and "close" win when they race', async () => {
    const { paymentId } = await openOrder(channel);
    const [paid, closed] = await Promise.allSettled([
      simulators[channel].pay(paymentId, paySuccess),
      adapters[channel].closeOrder(paymentId),
    ]);

    const state = (await adapters[channel].queryOrder(paymentId)).state;
    if (state === 'PAID') {
      expect(paid.status === 'fulfilled' && paid.value.tradeState).toBe('PAID');
      expect(closed.status === 'fulfilled' && closed.value).toBe('ALREADY_PAID');
    } else {
      expect(state).toBe('CLOSED');
      expect(paid.status === 'rejected' && paid.reason).toBeInstanceOf(CashierRefusedError);
      expect(closed.status === 'fulfilled' && closed.value).toBe('CLOSED');
    }
  });

  it.skipIf(!expires)('refuses payment after the payment window has ended', async () => {
    const { paymentId } = await openOrder(channel, { expiresInMs: 1_000 });
    await sleep(2_100);

    await expect(simulators[channel].pay(paymentId, paySuccess)).rejects.toThrow(/payment window/);
    // Alipay and UnionPay end an unpaid trade at its expiry; WeChat Pay keeps it NOTPAY until it is closed.
    expect((await adapters[channel].queryOrder(paymentId)).state).toBe(channel === 'wechatpay' ? 'NOT_PAID' : 'CLOSED');
  });

  it('answers an outage on create with ChannelUnavailableError, and works again once it is lifted', async () => {
    await simulators[channel].setOutage(['create', 'query'], true);
    try {
      await expect(openOrder(channel)).rejects.toThrow(ChannelUnavailableError);
      const reference = adapters[channel].newReference?.(new Date()) ?? 'pi_nothing';
      await expect(adapters[channel].queryOrder(testPaymentId('any'), reference)).rejects.toThrow(
        ChannelUnavailableError,
      );
    } finally {
      await simulators[channel].setOutage(['create', 'query'], false);
    }
    const { paymentId } = await openOrder(channel);
    expect(await simulators[channel].hasOrder(paymentId)).toBe(true);
  });

  it('holds a call while the operation is held, and answers it once the hold is lifted', async () => {
    const { paymentId } = await openOrder(channel);
    expect(simulators[channel].hold(['query'], true)).toEqual({ operations: ['query'], waiting: 0 });
    let answered = false;
    const querying = adapters[channel].queryOrder(paymentId).finally(() => {
      answered = true;
    });
    try {
      await expect.poll(() => simulators[channel].holds().waiting, { timeout: 5_000 }).toBe(1);
      await sleep(300);
      expect(answered).toBe(false);
    } finally {
      expect(simulators[channel].hold(['query'], false)).toEqual({ operations: [], waiting: 0 });
    }
    expect((await querying).state).toBe('NOT_PAID');
  });

  it('makes a refund whose answer it loses: the caller sees the channel unavailable, and the retry answers that refund', async () => {
    const { paymentId } = await openOrder(channel);
    await simulators[channel].pay(paymentId, paySuccess);
    const refund = {
      paymentId,
      refundId: uniqueId('rf'),
      amount: 19_900,
      totalAmount: 19_900,
      currency: 'CNY',
      reason: 'lost answer',
    } as const;
    simulators[channel].loseRefundAnswers(1);
    await expect(adapters[channel].refund(refund)).rejects.toThrow(ChannelUnavailableError);
    expect(await sandboxRefunds(paymentId)).toBe(1);

    expect((await adapters[channel].refund(refund)).status).toMatch(/^(PROCESSING|SUCCEEDED)$/);
    expect(await sandboxRefunds(paymentId)).toBe(1);
    const refundNo = channel === 'unionpay' ? unionpayRefundOrderIdOf(refund.refundId) : refund.refundId;
    expect((await simulators[channel].books(paymentId))?.refunds.map((r) => r.outRequestNo)).toEqual([refundNo]);
  });

  it('reports another amount in its order query after a payment that asks it to, and the true one in its books', async () => {
    const { paymentId } = await openOrder(channel);
    await simulators[channel].pay(paymentId, { ...paySuccess, notifications: 0, tamperQueryAmount: true });
    expect(await adapters[channel].queryOrder(paymentId)).toMatchObject({ state: 'PAID', amount: 20_000 });
    expect(await simulators[channel].books(paymentId)).toMatchObject({ amount: 19_900, captured: 19_900 });

    const { paymentId: other } = await openOrder(channel);
    await simulators[channel].pay(other, { ...paySuccess, notifications: 0 });
    expect(await adapters[channel].queryOrder(other)).toMatchObject({ state: 'PAID', amount: 19_900 });
  });

  it('never refunds more than was paid, even when refunds race', async () => {
    const { paymentId } = await openOrder(channel);
    await simulators[channel].pay(paymentId, paySuccess);
    const refund = (amount: number) =>
      adapters[channel].refund({
        paymentId,
        refundId: uniqueId('rf'),
        amount,
        totalAmount: 19_900,
        currency: 'CNY',
        reason: 'race',
      });

    const outcomes = await Promise.all([refund(10_000), refund(10_000), refund(10_000)]);

    // The one accepted is processing (or already settled, on a slow run); a refund still
    // processing holds its amount, so the others are refused.
    const accepted = outcomes.filter((o) => o.status !== 'FAILED');
    expect(accepted.map((o) => o.status)).toEqual([expect.stringMatching(/^(PROCESSING|SUCCEEDED)$/)]);
    expect(await sandboxRefunds(paymentId)).toBe(1);
    expect((await refund(9_900)).status).toMatch(/^(PROCESSING|SUCCEEDED)$/);
    expect(await sandboxRefunds(paymentId)).toBe(2);
    expect((await refund(1)).status).toBe('FAILED');
  });

  it.skipIf(!closes)(
    'answers a retried create with the same order and refuses the same id with another amount',
    async () => {
      const { paymentId, order } = await openOrder(channel);
      const again = await adapters[channel].createOrder({
        paymentId,
        amount: 19_900,
        currency: 'CNY',
        subject: 'TypeScript from zero',
        expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
        notifyUrl: `${baseUrl}/notify/${channel}`,
      });
      const conflicting = adapters[channel].createOrder({
        paymentId,
        amount: 100,
        currency: 'CNY',
        subject: 'TypeScript from zero',
        expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
        notifyUrl: `${baseUrl}/notify/${channel}`,
      });

      expect(again.merchantId).toBe(order.merchantId);
      if (channel === 'wechatpay') expect(again.payUrl).toBe(order.payUrl);
      await expect(conflicting).rejects.toThrow(ChannelRejectedError);
      expect(await connection.collection('sandbox_channel_orders').countDocuments({ outTradeNo: paymentId })).toBe(1);
    },
  );

  it('reads an order it never created as NOT_FOUND, and closing it answers NOT_FOUND', async () => {
    const paymentId = testPaymentId(uniqueId('none'));
    expect(await adapters[channel].queryOrder(paymentId)).toEqual({ state: 'NOT_FOUND' });
    expect(await adapters[channel].closeOrder(paymentId)).toBe('NOT_FOUND');
    await expect(simulators[channel].pay(paymentId, paySuccess)).rejects.toThrow(SandboxNotFoundError);
  });

  it('refuses a request signed with another merchant key', async () => {
    const forged = adapterFor(channel, {
      ...keyring,
      alipay: { ...keyring.alipay, merchantPrivateKey: stranger.alipay.merchantPrivateKey },
      wechatpay: { ...keyring.wechatpay, merchantPrivateKey: stranger.wechatpay.merchantPrivateKey },
      unionpay: { ...keyring.unionpay!, merchantPrivateKey: stranger.unionpay!.merchantPrivateKey },
      card: { ...keyring.card!, secretKey: stranger.card!.secretKey },
    });

    const call =
      channel === 'unionpay' || channel === 'card' ? openOrderWith(forged) : forged.queryOrder(testPaymentId('x'));
    await expect(call).rejects.toMatchObject({
      name: 'ChannelRejectedError',
      code: {
        alipay: 'isv.invalid-signature',
        wechatpay: 'SIGN_ERROR',
        unionpay: 'unionpay_11',
        card: 'authentication_failed',
      }[channel],
    });
  });

  it.skipIf(!signsAnswers)('fails closed on an answer not signed by a key it holds', async () => {
    const misled = adapterFor(channel, {
      ...keyring,
      alipay: { ...keyring.alipay, alipayPublicKey: stranger.alipay.alipayPublicKey },
      wechatpay: { ...keyring.wechatpay, platformKeys: stranger.wechatpay.platformKeys },
      unionpay: {
        ...keyring.unionpay!,
        rootCertificate: stranger.unionpay!.rootCertificate,
        intermediateCertificate: stranger.unionpay!.intermediateCertificate,
      },
    });

    const query = channel === 'unionpay' ? openOrderWith(misled) : misled.queryOrder(testPaymentId('x'));
    await expect(query).rejects.toMatchObject({
      name: 'ChannelRejectedError',
      code: 'bad_response_signature',
    });
  });

  it('serves a cashier page whose Pay button pays the order', async () => {
    const { paymentId, order } = await openOrder(channel);
    const page = await fetch(order.payUrl);
    const html = await page.text();

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('199.00');
    expect(html).toContain('CNY');
    expect(html).toContain('TypeScript from zero');
    expect(html).toContain(merchantId());
    expect(html).toContain('data-testid="pay"');
    expect(html).toContain('data-testid="decline"');
    const action = /action="([^"]+\/pay)"/.exec(html)?.[1];
    expect(action).toBe(`/sandbox/${channel}/cashier/${channelOrderNo(channel, paymentId)}/pay`);

    const result = await fetch(`${baseUrl}${action}`, { method: 'POST', body: cashierFormOf(html) });
    expect(result.status).toBe(200);
    expect(await result.text()).toContain('Payment successful');
    expect(notificationsFor(paymentId)).toHaveLength(1);
    expect((await adapters[channel].queryOrder(paymentId)).state).toBe('PAID');
  });

  it('shows "Payment declined" after the Decline button, and refuses the Pay button once closed', async () => {
    const { paymentId, order } = await openOrder(channel);
    const base = `${baseUrl}/sandbox/${channel}/cashier/${channelOrderNo(channel, paymentId)}`;
    const form = cashierFormOf(await (await fetch(order.payUrl)).text());

    const declined = await fetch(`${base}/decline`, { method: 'POST', body: form });
    expect(await declined.text()).toContain('Payment declined');
    if (!closes) return;
    await adapters[channel].closeOrder(paymentId);
    const refused = await fetch(`${base}/pay`, { method: 'POST', body: form });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('closed');
  });
});

describe('Alipay sandbox gateway', () => {
  it('refuses a page-pay link whose amount was changed after signing', async () => {
    const params = signedAlipayRequest(keyring.alipay, 'alipay.trade.page.pay', {
      out_trade_no: testPaymentId(uniqueId('ord')),
      product_code: 'FAST_INSTANT_TRADE_PAY',
      total_amount: '199.00',
      subject: 'TypeScript 101',
    });
    const url = new URL(`${baseUrl}/sandbox/alipay/gateway.do`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    url.searchParams.set('biz_content', (url.searchParams.get('biz_content') ?? '').replace('199.00', '1.99'));

    const page = await fetch(url);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('isv.invalid-signature');
  });
});

describe('notification resends', () => {
  it('stop when the simulator is closed', async () => {
    const own = createChannelSimulators({
      connection,
      keyring,
      publicBaseUrl: baseUrl,
      timeScale: TIME_SCALE,
      formSecret: FORM_SECRET,
      logger,
    });
    const { paymentId } = await openOrder('wechatpay');
    refusals.set(paymentId, 1_000);

    await own.wechatpay.pay(paymentId, paySuccess);
    await expect.poll(() => callbacksFor(paymentId).length, { timeout: 5_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    own.wechatpay.close();
    const seen = callbacksFor(paymentId).length;
    await sleep(800);

    expect(callbacksFor(paymentId).length).toBeLessThanOrEqual(seen + 1);
  });
});

describe('UnionPay sandbox gateway', () => {
  const refundRequest = (paymentId: string, amount: number) => ({
    paymentId,
    refundId: `rfd_${uniqueId('rf').replace(/-/g, '')}`,
    amount,
    totalAmount: 19_900,
    currency: 'CNY' as const,
    reason: 'partial refund',
    notifyUrl: `${baseUrl}/notify/unionpay`,
  });

  it('has no close: closing asks the channel, and an unpaid order ends at its payTimeout', async () => {
    const { paymentId } = await openOrder('unionpay', { expiresInMs: 1_500 });

    expect(await adapters.unionpay.closeOrder(paymentId)).toBe('CLOSED');
    expect((await adapters.unionpay.queryOrder(paymentId)).state).toBe('NOT_PAID');
    await sleep(2_100);
    await expect(simulators.unionpay.pay(paymentId, paySuccess)).rejects.toThrow(CashierRefusedError);
    expect((await adapters.unionpay.queryOrder(paymentId)).state).toBe('CLOSED');
  });

  it('refuses a repeated orderId (respCode 12): a retried create reports the order already paid once it is', async () => {
    const { paymentId } = await openOrder('unionpay');
    const again = () =>
      adapters.unionpay.createOrder({
        paymentId,
        amount: 19_900,
        currency: 'CNY',
        subject: 'TypeScript from zero',
        expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
        notifyUrl: `${baseUrl}/notify/unionpay`,
      });

    await expect(again()).rejects.toMatchObject({ name: 'ChannelRejectedError', code: 'unionpay_12' });
    await simulators.unionpay.pay(paymentId, paySuccess);
    await expect(again()).rejects.toMatchObject({ name: 'ChannelRejectedError', code: 'already_paid' });
  });

  it('refunds in parts under new orderIds against the payment queryId, notifies each with our refund id, and refuses more than was paid', async () => {
    const { paymentId } = await openOrder('unionpay');
    const paid = await simulators.unionpay.pay(paymentId, paySuccess);
    const first = refundRequest(paymentId, 5_000);
    const second = refundRequest(paymentId, 14_900);

    expect((await adapters.unionpay.refund(first)).status).toMatch(/^(PROCESSING|SUCCEEDED)$/);
    expect((await adapters.unionpay.refund(second)).status).toMatch(/^(PROCESSING|SUCCEEDED)$/);
    expect((await adapters.unionpay.refund(refundRequest(paymentId, 1))).status).toBe('FAILED');

    const refundNotices = () =>
      callbacksFor(paymentId).flatMap((c) => (c.result.ok && c.result.kind === 'refund' ? [c.result.refund] : []));
    await expect.poll(() => refundNotices().length, { timeout: 10_000, interval: 50 }).toBe(2);
    expect(
      refundNotices()
        .map((r) => [r.refundId, r.amount, r.status])
        .sort(),
    ).toEqual(
      [
        [first.refundId, 5_000, 'SUCCEEDED'],
        [second.refundId, 14_900, 'SUCCEEDED'],
      ].sort(),
    );
    expect(await simulators.unionpay.books(paymentId)).toMatchObject({
      channelTradeNo: paid.channelTradeNo,
      captured: 19_900,
      refunded: 19_900,
    });
    expect((await adapters.unionpay.queryRefund(paymentId, first.refundId)).status).toBe('SUCCEEDED');
    expect((await adapters.unionpay.queryOrder(paymentId)).state).toBe('PAID');
  });

  it('fails closed on a notification whose signing certificate names another subject or chains elsewhere', async () => {
    const { paymentId } = await openOrder('unionpay');
    await simulators.unionpay.pay(paymentId, paySuccess);
    const delivered = callbacksFor(paymentId)[0]?.raw;
    if (!delivered || keyring.unionpay === undefined) throw new Error('no notification arrived');
    const strangerUnionpay = stranger.unionpay;
    if (strangerUnionpay === undefined) throw new Error('no UnionPay keys');

    const renamed = adapterFor('unionpay', {
      ...keyring,
      unionpay: { ...keyring.unionpay, signerCommonName: '中国银联股份有限公司' },
    });
    const elsewhere = adapterFor('unionpay', {
      ...keyring,
      unionpay: { ...keyring.unionpay, intermediateCertificate: strangerUnionpay.intermediateCertificate },
    });

    expect(adapters.unionpay.verifyNotification(delivered)).toMatchObject({ ok: true, kind: 'payment' });
    expect(renamed.verifyNotification(delivered)).toMatchObject({ ok: false, reason: 'wrong_certificate_subject' });
    expect(elsewhere.verifyNotification(delivered)).toMatchObject({ ok: false, reason: 'untrusted_certificate' });
  });
});
