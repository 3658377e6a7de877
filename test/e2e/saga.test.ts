import { createPublicKey, randomUUID, verify, type JsonWebKey } from 'node:crypto';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectChannelBooks } from '../support/books.js';
import { buildPaymentRequest } from '../support/builders.js';
import { payAtChannel, platformEvents, waitForStatus } from '../support/payments.js';
import { recordHistory } from '../support/histories.js';
import { retryCompensationSignal } from '../../workflows/contracts.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createPayment(overrides: Record<string, unknown> = {}) {
  const body = buildPaymentRequest(overrides);
  const res = await stack.request('POST', '/v1/payments', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { body, payment: res.body };
}

describe.each(['alipay', 'wechatpay'] as const)('paying a course with %s', (channel) => {
  it('issues a voucher anyone can verify offline, fulfils the order and records every step', async () => {
    const { body, payment } = await createPayment({ channel });
    expect(payment).toMatchObject({ status: 'awaiting_payment', channel });
    // The learner's link is the API's hosted checkout, signed and expiring with the payment.
    expect(payment.payUrl).toMatch(
      new RegExp(
        `^${stack.baseUrl}/checkout/${payment.paymentId}\\?e=${Math.floor(Date.parse(payment.expiresAt) / 1000)}&t=[A-Za-z0-9_-]{43}$`,
      ),
    );

    await payAtChannel(stack, payment.paymentId);
    const done = await waitForStatus(stack, payment.paymentId, 'succeeded');

    expect(done.channelTradeNo).toEqual(expect.any(String));
    expect(done.voucher).toEqual({
      voucherId: expect.stringMatching(/^vch_/),
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(done.timeline.map((t: { event: string }) => t.event)).toEqual(
      expect.arrayContaining([
        'payment.awaiting_payment',
        'callback.paid',
        'payment.paid',
        'voucher.issued',
        'payment.succeeded',
      ]),
    );

    const voucher = (await stack.request('GET', `/v1/vouchers/${done.voucher.voucherId}`)).body;
    const jwks = (await stack.request('GET', '/v1/vouchers/keys')).body;
    const jwk = jwks.keys.find((k: { kid: string }) => k.kid === voucher.keyId) as JsonWebKey;
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    expect(verify(null, Buffer.from(voucher.payload), key, Buffer.from(voucher.signature, 'base64'))).toBe(true);
    const verified = await stack.request('POST', '/v1/vouchers/verify', voucher);
    expect(verified.body).toMatchObject({ authentic: true, onRecord: true, refunded: false, void: false });
    const flipped = { ...voucher, payload: voucher.payload.replace('"amount":19900', '"amount":19901') };
    const forged = await stack.request('POST', '/v1/vouchers/verify', flipped);
    expect(forged.body).toMatchObject({ authentic: false, reason: 'digest_mismatch' });
    expect(JSON.parse(voucher.payload)).toMatchObject({
      paymentId: payment.paymentId,
      orderId: body.orderId,
      amount: 19_900,
      currency: 'CNY',
      channel,
    });

    expect(await platformEvents(stack, body.orderId as string)).toEqual([
      expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
    ]);
    const { models } = stack.database;
    expect(await models.channelOrders.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(await models.callbacks.countDocuments({ outTradeNo: payment.paymentId, outcome: 'applied' })).toBe(1);
    expect(await models.payments.findOne({ paymentId: payment.paymentId }).lean()).toMatchObject({
      status: 'succeeded',
      voucher: { voucherId: done.voucher.voucherId },
    });
    await recordHistory(stack.temporal.client, payment.paymentId, `succeeded-${channel}`);
  });
});

describe('exactly one effect', () => {
  it('when the callback is duplicated five times at once, one voucher is issued and the platform hears once', async () => {
    const { body, payment } = await createPayment();
    await payAtChannel(stack, payment.paymentId, { notifications: 5 });
    await waitForStatus(stack, payment.paymentId, 'succeeded');
    await expect.poll(() => stack.database.models.callbacks.countDocuments({ outTradeNo: payment.paymentId })).toBe(5);

    const { models } = stack.database;
    expect(await models.vouchers.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(await models.callbacks.countDocuments({ outTradeNo: payment.paymentId, outcome: 'pending' })).toBe(0);
    await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [] });
    expect(await platformEvents(stack, body.orderId as string)).toEqual([
      expect.objectContaining({ type: 'payment.succeeded', deliveries: 1 }),
    ]);
  });

  it('a notification with a tampered amount is recorded as rejected and pays nothing', async () => {
    const { payment } = await createPayment();
    await payAtChannel(stack, payment.paymentId, { tamperAmount: true });
    await expect
      .poll(
        async () => (await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean())?.outcome,
      )
      .toBe('rejected');
    const record = await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean();
    expect(record?.reason).toMatch(/amount/);
    const now = (await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body;
    expect(now.status).toBe('awaiting_payment');
    expect(now.voucher).toBeNull();
  });

  it('a forged notification is recorded as rejected, answered as a failure and changes nothing', async () => {
    const { payment } = await createPayment({ channel: 'alipay' });
    const forged = new URLSearchParams({
      notify_time: '2026-11-24 10:00:00',
      notify_type: 'trade_status_sync',
      notify_id: 'forged-1',
      app_id: stack.keyring.alipay.appId,
      charset: 'utf-8',
      version: '1.0',
      sign_type: 'RSA2',
      sign: Buffer.from('not a signature').toString('base64'),
      trade_no: '2026112422001400000000000009',
      out_trade_no: payment.paymentId,
      trade_status: 'TRADE_SUCCESS',
      total_amount: '199.00',
      seller_id: stack.keyring.alipay.sellerId,
    });
    const res = await fetch(`${stack.baseUrl}/v1/callbacks/alipay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: forged.toString(),
    });
    expect([res.status, await res.text()]).toEqual([400, 'fail']);
    const record = await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean();
    expect(record).toMatchObject({ verified: false, outcome: 'rejected' });
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body.status).toBe('awaiting_payment');
  });
});

describe('support staff', () => {
  it('can reset a paid payment: the new run finds the charge, and nothing is charged, issued or refunded twice', async () => {
    const { body, payment } = await createPayment();
    await payAtChannel(stack, payment.paymentId);
    await waitForStatus(stack, payment.paymentId, 'succeeded');
    const handle = stack.temporal.client.workflow.getHandle(payment.paymentId);
    const { runId } = await handle.describe();
    const history = await handle.fetchHistory();
    const firstTask = history.events?.find(
      (e) => e.eventType === proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    );

    const reset = await stack.temporal.client.workflowService.resetWorkflowExecution({
      namespace: stack.config.TEMPORAL_NAMESPACE,
      workflowExecution: { workflowId: payment.paymentId, runId },
      reason: 'staff reset to the start',
      workflowTaskFinishEventId: firstTask?.eventId,
      requestId: randomUUID(),
    });
    const rerun = stack.temporal.client.workflow.getHandle(payment.paymentId, reset.runId ?? undefined);
    const result = await rerun.result();

    expect(result.status).toBe('succeeded');
    const { models } = stack.database;
    expect(await models.channelOrders.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(await models.vouchers.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(await models.refunds.countDocuments({ paymentId: payment.paymentId })).toBe(0);
    await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [] });
    const events = await platformEvents(stack, body.orderId as string);
    expect(events).toEqual([expect.objectContaining({ type: 'payment.succeeded', deliveries: 2 })]);
  });
});

describe('channel outages', () => {
  it('fails over to the next channel when the preferred one is down at order creation', async () => {
    await stack.request('POST', '/sandbox/v1/channels/alipay/outage', { operations: ['create'], enabled: true });
    try {
      const { payment } = await createPayment({ channel: 'alipay' });
      expect(payment.channel).toBe('wechatpay');
      const read = (await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body;
      expect(read.timeline.map((t: { event: string }) => t.event)).toContain('channel.unavailable');
      await payAtChannel(stack, payment.paymentId);
      await waitForStatus(stack, payment.paymentId, 'succeeded');
      await recordHistory(stack.temporal.client, payment.paymentId, 'failover');
    } finally {
      await stack.request('POST', '/sandbox/v1/channels/alipay/outage', { operations: ['create'], enabled: false });
    }
  });
});

describe('compensation', () => {
  it('refunds the learner and voids the voucher when the platform cannot fulfil the order', async () => {
    const { body, payment } = await createPayment();
    await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId: body.orderId });
    await payAtChannel(stack, payment.paymentId);
    const done = await waitForStatus(stack, payment.paymentId, 'refunded');

    expect(done.refunds).toEqual([expect.objectContaining({ amount: 19_900, status: 'succeeded' })]);
    expect(done.failureReason).toMatch(/refused/);
    const voucher = await stack.database.models.vouchers.findOne({ paymentId: payment.paymentId }).lean();
    expect(voucher?.status).toBe('void');
    const published = (await stack.request('GET', `/v1/vouchers/${voucher?.voucherId}`)).body;
    const verified = await stack.request('POST', '/v1/vouchers/verify', published);
    expect(verified.body).toMatchObject({ authentic: true, refunded: true, void: true, paymentStatus: 'refunded' });
    expect(await stack.database.models.refunds.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [19_900] });
    await expect
      .poll(async () => (await platformEvents(stack, body.orderId as string)).map((e) => e.type))
      .toEqual(['payment.succeeded', 'payment.refunded']);
    await recordHistory(stack.temporal.client, payment.paymentId, 'refunded-fulfilment-refused');
  });

  it.each(['alipay', 'wechatpay'] as const)(
    'refunds once at %s when the channel made the refund but its answer was lost',
    async (channel) => {
      const { body, payment } = await createPayment({ channel });
      await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId: body.orderId });
      const lose = (count: number) =>
        stack.request('POST', `/sandbox/v1/channels/${channel}/lost-refund-answers`, { count });
      expect((await lose(1)).status).toBe(200);
      try {
        await payAtChannel(stack, payment.paymentId);
        const done = await waitForStatus(stack, payment.paymentId, 'refunded');
        expect(done.refunds).toEqual([
          expect.objectContaining({ refundId: `${payment.paymentId}-r1`, amount: 19_900, status: 'succeeded' }),
        ]);
      } finally {
        await lose(0);
      }

      // The first call's answer never came: the activity failed once, and its retry found the refund.
      const history = await stack.temporal.client.workflow.getHandle(payment.paymentId).fetchHistory();
      const scheduled = history.events?.find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'refundPayment',
      );
      const started = history.events?.find(
        (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
      );
      expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(2);
      const order = await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [19_900] });
      expect(order.refunds.map((r) => r.outRequestNo)).toEqual([`${payment.paymentId}-r1`]);
      expect(await stack.database.models.refunds.countDocuments({ paymentId: payment.paymentId })).toBe(1);
      await expect
        .poll(async () => (await platformEvents(stack, body.orderId as string)).map((e) => e.type))
        .toEqual(['payment.succeeded', 'payment.refunded']);
    },
  );
});

describe('cancel', () => {
  it('closes the channel order and ends canceled when unpaid; the payer can no longer pay', async () => {
    const { body, payment } = await createPayment();
    const res = await stack.request('POST', `/v1/payments/${payment.paymentId}/cancel`, {
      reason: 'learner changed their mind',
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('canceled');
    const again = await stack.request('POST', `/v1/payments/${payment.paymentId}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('canceled');
    const late = await stack.request('POST', `/sandbox/v1/payments/${payment.paymentId}/pay`, { outcome: 'success' });
    expect([late.status, late.body.error?.code]).toEqual([409, 'order_closed']);
    await expectChannelBooks(stack, payment.paymentId, { captured: 0, refunds: [] });
    await expect
      .poll(async () => (await platformEvents(stack, body.orderId as string)).map((e) => e.type))
      .toEqual(['payment.canceled']);
    await recordHistory(stack.temporal.client, payment.paymentId, 'canceled');
  });

  it('refunds, once, a payment the channel completes after the cancel', async () => {
    const { body, payment } = await createPayment();
    expect((await stack.request('POST', `/v1/payments/${payment.paymentId}/cancel`)).status).toBe(200);
    await expect
      .poll(async () => (await stack.temporal.client.workflow.getHandle(payment.paymentId).describe()).status.name)
      .toBe('COMPLETED');

    await payAtChannel(stack, payment.paymentId, { afterClose: true, notifications: 3 });
    const done = await waitForStatus(stack, payment.paymentId, 'refunded');

    expect(done.refunds).toEqual([
      expect.objectContaining({ refundId: `${payment.paymentId}-late`, amount: 19_900, status: 'succeeded' }),
    ]);
    const { models } = stack.database;
    expect(await models.refunds.countDocuments({ paymentId: payment.paymentId })).toBe(1);
    expect(await models.callbacks.countDocuments({ outTradeNo: payment.paymentId, outcome: 'late_refund' })).toBe(3);
    await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [19_900] });
    await expect
      .poll(async () => (await platformEvents(stack, body.orderId as string)).map((e) => e.type))
      .toEqual(['payment.canceled', 'payment.refunded']);
    await recordHistory(stack.temporal.client, `${payment.paymentId}-late`, 'late-refund');
  });

  // The cancel is answered once the payment goes to review; `finish()` (which awaits every
  // handler) then returns when staff close the case.
  it('a cancel that meets a channel reporting another amount ends in review, and the payment closes when staff close the case', async () => {
    const { payment } = await createPayment({ channel: 'wechatpay' });
    await payAtChannel(stack, payment.paymentId, { notifications: 0, tamperQueryAmount: true });
    // Settled either way, so a request left hanging fails only this test.
    const canceling = stack.request('POST', `/v1/payments/${payment.paymentId}/cancel`).then(
      (res) => [res.status, res.body.error?.code],
      (err: unknown) => [String(err)],
    );
    const stuck = await waitForStatus(stack, payment.paymentId, 'manual_review');
    expect(stuck.failureReason).toBe('wechatpay reports a payment of 20000 CNY, expected 19900 CNY');
    await expectChannelBooks(stack, payment.paymentId, { captured: 19_900, refunds: [] });

    const handle = stack.temporal.client.workflow.getHandle(payment.paymentId);
    await handle.signal(retryCompensationSignal);
    await expect.poll(async () => (await handle.describe()).status.name, { timeout: 5_000 }).toBe('COMPLETED');
    expect(await canceling).toEqual([409, 'payment_not_cancelable']);
  });

  it('answers 409 once the payment is paid', async () => {
    const { payment } = await createPayment();
    await payAtChannel(stack, payment.paymentId);
    await waitForStatus(stack, payment.paymentId, 'succeeded');
    const res = await stack.request('POST', `/v1/payments/${payment.paymentId}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('payment_not_cancelable');
  });
});
