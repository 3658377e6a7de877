import type { Server } from 'node:http';
import { once } from 'node:events';
import express from 'express';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { errorHandler } from '../../../src/api/errors.js';
import { createAlipayAdapter } from '../../../src/channels/alipay/adapter.js';
import { alipayResponseKey, signedAlipayRequest, type AlipayMethod } from '../../../src/channels/alipay/protocol.js';
import {
  ChannelUnavailableError,
  type ChannelAdapter,
  type ChannelRefundNotification,
  type RawCallback,
  type RefundRequest,
  type VerificationResult,
} from '../../../src/channels/types.js';
import { createCardAdapter } from '../../../src/channels/card/adapter.js';
import { createPaypalAdapter } from '../../../src/channels/paypal/adapter.js';
import { createUnionpayAdapter } from '../../../src/channels/unionpay/adapter.js';
import { createWechatPayAdapter } from '../../../src/channels/wechatpay/adapter.js';
import { generateKeyring, type Keyring } from '../../../src/crypto/keyring.js';
import { createLogger } from '../../../src/logger.js';
import { createChannelSimulators } from '../../../src/sandbox/channels/index.js';
import type { ChannelSimulator } from '../../../src/sandbox/channels/types.js';
import { sandboxControlRoutes } from '../../../src/sandbox/control.js';
import { createPlatformStub } from '../../../src/sandbox/platform.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../../domain/payment.js';
import { testPaymentId, uniqueId } from '../../support/builders.js';
import { keepingReferences } from '../../support/channel-references.js';
import { withDatabase } from '../../support/stack.js';

/** The channels whose payer's `pay` takes the money; PayPal's approve-then-capture flow has test/integration/channels/paypal.test.ts. */
const CHARGED_ON_PAY = PAYMENT_CHANNELS.filter((channel) => channel !== 'paypal');

/**
 * Refunds at the sandbox channels behave as at the real ones: asynchronous by default (WeChat Pay
 * answers PROCESSING and notifies the outcome, Alipay answers `fund_change: N` and its refund query
 * has no `refund_status` until the refund settles), with the outcome chosen through the sandbox
 * control API. Adapters, simulators and control routes over real HTTP, books in MongoDB.
 */

/** A refund settles after 3 minutes of provider time: 900 ms here; WeChat Pay's first resend is 75 ms. */
const TIME_SCALE = 0.005;
const SETTLE_MS = 900;
const logger = createLogger({ LOG_LEVEL: 'silent' }, 'test');

interface RefundCallback {
  raw: RawCallback;
  result: VerificationResult;
  ackStatus: number;
}

let server: Server;
let baseUrl: string;
let connection: Connection;
let keyring: Keyring;
let simulators: Record<PaymentChannel, ChannelSimulator>;
let adapters: Record<PaymentChannel, ChannelAdapter>;
const callbacks: RefundCallback[] = [];
/** How many deliveries of a refund's notification (by refund id) the notify endpoint still refuses. */
const refusals = new Map<string, number>();
const CONTROL_TOKEN = `sct_test_${'r'.repeat(40)}`;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(withDatabase(inject('mongoUri'), `kp_${uniqueId('refunds').replace(/-/g, '_')}`), {
      autoIndex: false,
      serverSelectionTimeoutMS: 10_000,
    })
    .asPromise();
  keyring = generateKeyring();
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
    formSecret: CONTROL_TOKEN,
    logger,
  });
  adapters = {
    alipay: createAlipayAdapter({
      gatewayUrl: `${baseUrl}/sandbox/alipay/gateway.do`,
      keyring: keyring.alipay,
      timeoutMs: 5_000,
      maxAmount: 100_000_000,
    }),
    wechatpay: createWechatPayAdapter({
      baseUrl: `${baseUrl}/sandbox/wechatpay`,
      keyring: keyring.wechatpay,
      timeoutMs: 5_000,
      maxAmount: 50_000_000,
    }),
    card: keepingReferences(
      createCardAdapter({
        apiUrl: `${baseUrl}/sandbox/card`,
        payPageUrl: `${baseUrl}/sandbox/card/pay`,
        keyring: keyring.card!,
        timeoutMs: 5_000,
        maxAmount: 10_000_000,
      }),
    ),
    unionpay: keepingReferences(
      createUnionpayAdapter({
        gatewayUrl: `${baseUrl}/sandbox/unionpay`,
        keyring: keyring.unionpay!,
        timeoutMs: 5_000,
        maxAmount: 50_000_000,
      }),
    ),
    paypal: keepingReferences(
      createPaypalAdapter({
        apiUrl: `${baseUrl}/sandbox/paypal`,
        certUrlPrefix: `${baseUrl}/sandbox/paypal/v1/notifications/certs/`,
        keyring: keyring.paypal!,
        timeoutMs: 5_000,
        maxAmount: 10_000_000,
      }),
    ),
  };
  const platform = await createPlatformStub(connection, keyring.platformWebhookSecret);
  app.use('/sandbox/alipay', simulators.alipay.router);
  app.use('/sandbox/wechatpay', simulators.wechatpay.router);
  app.use('/sandbox/unionpay', simulators.unionpay.router);
  app.use('/sandbox/card', simulators.card.router);
  app.use(
    '/sandbox/v1',
    sandboxControlRoutes({
      simulators,
      platform,
      controlToken: CONTROL_TOKEN,
      bodyLimitBytes: 65_536,
    }),
  );
  app.post('/notify/wechatpay', express.raw({ type: () => true }), async (req, res) => {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    const raw: RawCallback = { body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers };
    const result = await adapters.wechatpay.verifyNotification(raw);
    const refundId = result.ok && result.kind === 'refund' ? result.refund.refundId : undefined;
    const refuse = refundId === undefined ? 0 : (refusals.get(refundId) ?? 0);
    if (refundId !== undefined && refuse > 0) refusals.set(refundId, refuse - 1);
    const ack =
      result.ok && refuse === 0
        ? adapters.wechatpay.ackSuccess()
        : adapters.wechatpay.ackFailure(result.ok ? 'busy' : result.reason);
    callbacks.push({ raw, result, ackStatus: ack.status });
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });
  app.use(errorHandler(logger));
});

afterEach(async () => {
  for (const channel of PAYMENT_CHANNELS) {
    await simulators[channel].setRefundBehaviour({ mode: 'async', outcome: 'success', notify: true });
    await simulators[channel].setOutage(['refund'], false);
  }
});

afterAll(async () => {
  for (const simulator of Object.values(simulators ?? {})) simulator.close();
  server?.closeAllConnections();
  server?.close();
  await connection?.dropDatabase().catch(() => undefined);
  await connection?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every delivery of refund `refundId`'s notification, verified or not, in arrival order. */
function deliveriesOf(refundId: string): RefundCallback[] {
  return callbacks.filter((c) => refundOf(c)?.refundId === refundId);
}

function refundOf(callback: RefundCallback): ChannelRefundNotification | undefined {
  return callback.result.ok && callback.result.kind === 'refund' ? callback.result.refund : undefined;
}

function refundNotificationsOf(refundId: string): ChannelRefundNotification[] {
  return deliveriesOf(refundId).flatMap((c) => refundOf(c) ?? []);
}

function eventTypeOf(callback: RefundCallback | undefined): unknown {
  return callback === undefined
    ? undefined
    : (JSON.parse(callback.raw.body.toString('utf8')) as { event_type?: unknown }).event_type;
}

function sandboxRefunds(outTradeNo: string): Promise<number> {
  return connection.collection('sandbox_channel_refunds').countDocuments({ outTradeNo });
}

/** A paid order of 199.00 CNY at `channel` (its payment notification is lost: it plays no part here). */
async function paidOrder(channel: PaymentChannel): Promise<string> {
  const paymentId = testPaymentId(uniqueId('ord'));
  await adapters[channel].createOrder({
    paymentId,
    amount: 19_900,
    currency: 'CNY',
    subject: 'TypeScript from zero',
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    notifyUrl: `${baseUrl}/notify/${channel}`,
  });
  await simulators[channel].pay(paymentId, { outcome: 'success', notifications: 0, tamperAmount: false });
  return paymentId;
}

function buildRefund(paymentId: string, overrides: Partial<RefundRequest> = {}): RefundRequest {
  return {
    paymentId,
    refundId: uniqueId('rf'),
    amount: 19_900,
    totalAmount: 19_900,
    currency: 'CNY',
    reason: 'the platform could not fulfil the order',
    notifyUrl: `${baseUrl}/notify/wechatpay`,
    ...overrides,
  };
}

async function control(method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}/sandbox/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CONTROL_TOKEN}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function setRefundBehaviour(channel: PaymentChannel, behaviour: Record<string, unknown>) {
  const answer = await control('POST', `/channels/${channel}/refund-behaviour`, behaviour);
  expect(answer.status).toBe(200);
  return answer.body;
}

const pollSettled = { timeout: 10_000, interval: 50 };

describe('WeChat Pay refunds at the sandbox', () => {
  const adapter = () => adapters.wechatpay;

  it('answers PROCESSING and reads PROCESSING until the refund settles, then SUCCESS by query and by a REFUND.SUCCESS notification the adapter verifies', async () => {
    const paymentId = await paidOrder('wechatpay');
    const refund = buildRefund(paymentId);

    const answered = await adapter().refund(refund);

    expect(answered).toEqual({ status: 'PROCESSING', channelRefundId: expect.stringMatching(/^5030\d{25}$/) });
    expect(await adapter().queryRefund(paymentId, refund.refundId)).toEqual(answered);
    expect(deliveriesOf(refund.refundId)).toHaveLength(0);
    await expect
      .poll(async () => (await adapter().queryRefund(paymentId, refund.refundId)).status, pollSettled)
      .toBe('SUCCEEDED');
    await expect.poll(() => refundNotificationsOf(refund.refundId).length, pollSettled).toBe(1);
    expect(refundNotificationsOf(refund.refundId)).toEqual([
      {
        channel: 'wechatpay',
        notificationId: expect.any(String),
        outTradeNo: paymentId,
        refundId: refund.refundId,
        channelRefundId: answered.channelRefundId,
        status: 'SUCCEEDED',
        amount: 19_900,
        currency: 'CNY',
        merchantId: keyring.wechatpay.mchId,
      },
    ]);
    expect(eventTypeOf(deliveriesOf(refund.refundId)[0])).toBe('REFUND.SUCCESS');
    expect((await adapter().queryOrder(paymentId)).state).toBe('REFUNDED');
  });

  it('answers a retried refund with the same out_refund_no with the same refund: never refunds twice, notifies once', async () => {
    const paymentId = await paidOrder('wechatpay');
    const refund = buildRefund(paymentId, { amount: 10_000 });

    const answers = await Promise.all([adapter().refund(refund), adapter().refund(refund), adapter().refund(refund)]);

    expect(answers.map((a) => a.status)).toEqual(['PROCESSING', 'PROCESSING', 'PROCESSING']);
    expect(new Set(answers.map((a) => a.channelRefundId)).size).toBe(1);
    expect(await sandboxRefunds(paymentId)).toBe(1);
    await expect.poll(() => refundNotificationsOf(refund.refundId).length, pollSettled).toBe(1);
    expect(await adapter().refund(refund)).toEqual({
      status: 'SUCCEEDED',
      channelRefundId: answers[0]?.channelRefundId,
    });
    await sleep(300);
    expect(await sandboxRefunds(paymentId)).toBe(1);
    expect(refundNotificationsOf(refund.refundId)).toHaveLength(1);
    // 100.00 of 199.00 refunded: 99.00 remains, and not a fen more.
    expect((await adapter().refund(buildRefund(paymentId, { amount: 9_901 }))).status).toBe('FAILED');
    expect((await adapter().refund(buildRefund(paymentId, { amount: 9_900 }))).status).toBe('PROCESSING');
  });

  it('resends an unacknowledged refund notification with the same id until it is acknowledged', async () => {
    const paymentId = await paidOrder('wechatpay');
    const refund = buildRefund(paymentId);
    refusals.set(refund.refundId, 2);

    await adapter().refund(refund);

    await expect.poll(() => deliveriesOf(refund.refundId).length, pollSettled).toBe(3);
    await sleep(300);
    expect(deliveriesOf(refund.refundId).map((c) => c.ackStatus)).toEqual([400, 400, 204]);
    expect(new Set(refundNotificationsOf(refund.refundId).map((n) => n.notificationId)).size).toBe(1);
  });

  it('leaves a refund ABNORMAL when told: REFUND.ABNORMAL, the query reads ABNORMAL and the amount stays held', async () => {
    expect(await setRefundBehaviour('wechatpay', { outcome: 'abnormal' })).toEqual({
      channel: 'wechatpay',
      mode: 'async',
      outcome: 'abnormal',
      notify: true,
    });
    const paymentId = await paidOrder('wechatpay');
    const refund = buildRefund(paymentId);

    expect((await adapter().refund(refund)).status).toBe('PROCESSING');
    await expect
      .poll(async () => (await adapter().queryRefund(paymentId, refund.refundId)).reason, pollSettled)
      .toBe('ABNORMAL');
    expect(await adapter().queryRefund(paymentId, refund.refundId)).toMatchObject({
      status: 'PROCESSING',
      reason: 'ABNORMAL',
    });
    await expect.poll(() => refundNotificationsOf(refund.refundId).length, pollSettled).toBe(1);
    expect(refundNotificationsOf(refund.refundId)[0]).toMatchObject({
      status: 'PROCESSING',
      reason: 'ABNORMAL',
      amount: 19_900,
    });
    expect(eventTypeOf(deliveriesOf(refund.refundId)[0])).toBe('REFUND.ABNORMAL');
    expect((await adapter().refund(buildRefund(paymentId, { amount: 1 }))).status).toBe('FAILED');
  });

  it('closes a refund when told: REFUND.CLOSED, the query reads CLOSED, nothing is refunded and the balance is released', async () => {
    await setRefundBehaviour('wechatpay', { outcome: 'closed' });
    const paymentId = await paidOrder('wechatpay');
    const refund = buildRefund(paymentId);

    expect((await adapter().refund(refund)).status).toBe('PROCESSING');
    await expect
      .poll(async () => (await adapter().queryRefund(paymentId, refund.refundId)).status, pollSettled)
      .toBe('FAILED');
    expect(await adapter().queryRefund(paymentId, refund.refundId)).toMatchObject({ reason: 'CLOSED' });
    await expect.poll(() => refundNotificationsOf(refund.refundId).length, pollSettled).toBe(1);
    expect(refundNotificationsOf(refund.refundId)[0]).toMatchObject({ status: 'FAILED', reason: 'CLOSED' });
    expect(eventTypeOf(deliveriesOf(refund.refundId)[0])).toBe('REFUND.CLOSED');
    expect((await adapter().queryOrder(paymentId)).state).toBe('PAID');
    expect((await adapter().refund(refund)).status).toBe('FAILED');

    await setRefundBehaviour('wechatpay', {});
    const again = buildRefund(paymentId);
    expect((await adapter().refund(again)).status).toBe('PROCESSING');
    await expect
      .poll(async () => (await adapter().queryRefund(paymentId, again.refundId)).status, pollSettled)
      .toBe('SUCCEEDED');
    expect(await sandboxRefunds(paymentId)).toBe(2);
  });

  it('loses the notification when told (notify: false), and the query still finds the outcome', async () => {
    await setRefundBehaviour('wechatpay', { notify: false });
    const paymentId = await paidOrder('wechatpay');
    const refund = buildRefund(paymentId);

    await adapter().refund(refund);
    await expect
      .poll(async () => (await adapter().queryRefund(paymentId, refund.refundId)).status, pollSettled)
      .toBe('SUCCEEDED');
    await sleep(300);

    expect(deliveriesOf(refund.refundId)).toHaveLength(0);
  });

  it('settles in the answer in immediate mode, and notifies at once', async () => {
    await setRefundBehaviour('wechatpay', { mode: 'immediate' });
    const paymentId = await paidOrder('wechatpay');
    const refund = buildRefund(paymentId);

    expect((await adapter().refund(refund)).status).toBe('SUCCEEDED');
    await expect.poll(() => refundNotificationsOf(refund.refundId).length, { timeout: SETTLE_MS / 2 }).toBe(1);
    expect(refundNotificationsOf(refund.refundId)[0]?.status).toBe('SUCCEEDED');
  });

  it('sends no notification for a refund requested without notify_url', async () => {
    const paymentId = await paidOrder('wechatpay');
    const { notifyUrl: _none, ...refund } = buildRefund(paymentId);

    await adapter().refund(refund);
    await expect
      .poll(async () => (await adapter().queryRefund(paymentId, refund.refundId)).status, pollSettled)
      .toBe('SUCCEEDED');
    await sleep(300);

    expect(deliveriesOf(refund.refundId)).toHaveLength(0);
  });
});

/** One signed call to the Alipay sandbox gateway; answers its `*_response` member. */
async function alipayCall(method: AlipayMethod, biz: Record<string, string>): Promise<Record<string, unknown>> {
  const params = signedAlipayRequest(keyring.alipay, method, biz);
  const res = await fetch(`${baseUrl}/sandbox/alipay/gateway.do`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    body: new URLSearchParams(params).toString(),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  return answer[alipayResponseKey(method)] as Record<string, unknown>;
}

describe('Alipay refunds at the sandbox', () => {
  const refundBiz = (paymentId: string, refundId: string, amount = '199.00') => ({
    out_trade_no: paymentId,
    out_request_no: refundId,
    refund_amount: amount,
    refund_reason: 'test',
  });
  const queryBiz = (paymentId: string, refundId: string) => ({ out_trade_no: paymentId, out_request_no: refundId });

  it('answers fund_change N and a refund query without refund_status until the refund settles, then REFUND_SUCCESS', async () => {
    const paymentId = await paidOrder('alipay');
    const refundId = uniqueId('rf');

    const refunded = await alipayCall('alipay.trade.refund', refundBiz(paymentId, refundId));
    const queried = await alipayCall('alipay.trade.fastpay.refund.query', queryBiz(paymentId, refundId));

    expect(refunded).toMatchObject({ code: '10000', fund_change: 'N', refund_fee: '199.00' });
    expect(queried).toMatchObject({ code: '10000', out_trade_no: paymentId, out_request_no: refundId });
    expect(queried).not.toHaveProperty('refund_status');
    expect(await adapters.alipay.queryRefund(paymentId, refundId)).toEqual({ status: 'PROCESSING' });
    expect((await adapters.alipay.queryOrder(paymentId)).state).toBe('PAID');

    await expect
      .poll(
        async () =>
          (await alipayCall('alipay.trade.fastpay.refund.query', queryBiz(paymentId, refundId))).refund_status,
        pollSettled,
      )
      .toBe('REFUND_SUCCESS');
    expect(await adapters.alipay.queryRefund(paymentId, refundId)).toEqual({ status: 'SUCCEEDED' });
    expect((await adapters.alipay.queryOrder(paymentId)).state).toBe('REFUNDED');
    expect(await alipayCall('alipay.trade.refund', refundBiz(paymentId, refundId))).toMatchObject({
      code: '10000',
      fund_change: 'N',
    });
    expect(await sandboxRefunds(paymentId)).toBe(1);
  });

  it('answers a refund through the adapter as PROCESSING, then SUCCEEDED once settled, refunding once', async () => {
    const paymentId = await paidOrder('alipay');
    const refund = buildRefund(paymentId);

    expect((await adapters.alipay.refund(refund)).status).toBe('PROCESSING');
    await expect.poll(async () => (await adapters.alipay.refund(refund)).status, pollSettled).toBe('SUCCEEDED');
    expect(await sandboxRefunds(paymentId)).toBe(1);
  });

  it('never shows REFUND_SUCCESS for a closed refund, and releases the balance', async () => {
    await setRefundBehaviour('alipay', { outcome: 'closed' });
    const paymentId = await paidOrder('alipay');
    const refundId = uniqueId('rf');

    expect(await alipayCall('alipay.trade.refund', refundBiz(paymentId, refundId))).toMatchObject({
      code: '10000',
      fund_change: 'N',
    });
    await sleep(SETTLE_MS + 300);

    expect(await alipayCall('alipay.trade.fastpay.refund.query', queryBiz(paymentId, refundId))).not.toHaveProperty(
      'refund_status',
    );
    expect(await adapters.alipay.queryRefund(paymentId, refundId)).toEqual({ status: 'PROCESSING' });
    expect((await adapters.alipay.queryOrder(paymentId)).state).toBe('PAID');
    await setRefundBehaviour('alipay', {});
    expect(await alipayCall('alipay.trade.refund', refundBiz(paymentId, uniqueId('rf')))).toMatchObject({
      code: '10000',
      refund_fee: '199.00',
    });
  });

  it('answers fund_change Y and REFUND_SUCCESS at once in immediate mode', async () => {
    await setRefundBehaviour('alipay', { mode: 'immediate' });
    const paymentId = await paidOrder('alipay');
    const refundId = uniqueId('rf');

    expect(await alipayCall('alipay.trade.refund', refundBiz(paymentId, refundId))).toMatchObject({
      code: '10000',
      fund_change: 'Y',
    });
    expect(await alipayCall('alipay.trade.fastpay.refund.query', queryBiz(paymentId, refundId))).toMatchObject({
      refund_status: 'REFUND_SUCCESS',
    });
    expect((await adapters.alipay.refund(buildRefund(paymentId, { refundId }))).status).toBe('SUCCEEDED');
  });
});

describe.each(CHARGED_ON_PAY)('%s refund outage', (channel) => {
  it('answers the refund query like an outage too, and works again once it is lifted', async () => {
    const paymentId = await paidOrder(channel);
    const refund = buildRefund(paymentId);
    await adapters[channel].refund(refund);

    const outage = await control('POST', `/channels/${channel}/outage`, { operations: ['refund'], enabled: true });
    expect(outage.status).toBe(200);
    await expect(adapters[channel].queryRefund(paymentId, refund.refundId)).rejects.toThrow(ChannelUnavailableError);
    await expect(adapters[channel].refund(refund)).rejects.toThrow(ChannelUnavailableError);

    await control('POST', `/channels/${channel}/outage`, { operations: ['refund'], enabled: false });
    await expect
      .poll(async () => (await adapters[channel].queryRefund(paymentId, refund.refundId)).status, pollSettled)
      .toBe('SUCCEEDED');
  });
});

describe('sandbox refund behaviour control', () => {
  it('answers the stored behaviour, with defaults for what is left out', async () => {
    expect(await setRefundBehaviour('alipay', { mode: 'immediate', notify: false })).toEqual({
      channel: 'alipay',
      mode: 'immediate',
      outcome: 'success',
      notify: false,
    });
    expect(await control('GET', '/channels/alipay/refund-behaviour')).toEqual({
      status: 200,
      body: { channel: 'alipay', mode: 'immediate', outcome: 'success', notify: false },
    });
    expect(await setRefundBehaviour('alipay', {})).toEqual({
      channel: 'alipay',
      mode: 'async',
      outcome: 'success',
      notify: true,
    });
  });

  it('stores it where every API process sees it', async () => {
    const other = createChannelSimulators({
      connection,
      keyring,
      publicBaseUrl: baseUrl,
      timeScale: TIME_SCALE,
      formSecret: CONTROL_TOKEN,
      logger,
    });
    try {
      await setRefundBehaviour('wechatpay', { outcome: 'closed', notify: false });
      expect(await other.wechatpay.refundBehaviour()).toEqual({ mode: 'async', outcome: 'closed', notify: false });
      expect(await other.alipay.refundBehaviour()).toEqual({ mode: 'async', outcome: 'success', notify: true });
    } finally {
      other.wechatpay.close();
      other.alipay.close();
    }
  });

  it.each([
    [{ mode: 'sometimes' }, 'invalid_parameter', 'mode'],
    [{ outcome: 'lost' }, 'invalid_parameter', 'outcome'],
    [{ notify: 'yes' }, 'invalid_parameter', 'notify'],
    [{ delayMs: 5 }, 'unknown_parameter', 'delayMs'],
  ])('refuses %j with the API’s JSON error', async (body, code, param) => {
    const answer = await control('POST', '/channels/wechatpay/refund-behaviour', body);

    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({
      error: { type: 'validation_error', code, message: expect.any(String), param, requestId: expect.any(String) },
    });
    expect(await simulators.wechatpay.refundBehaviour()).toEqual({ mode: 'async', outcome: 'success', notify: true });
  });

  it('answers 404 for a channel it does not simulate', async () => {
    const answer = await control('POST', '/channels/applepay/refund-behaviour', {});

    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({
      error: { type: 'not_found_error', code: 'unknown_channel', param: 'channel' },
    });
  });
});
