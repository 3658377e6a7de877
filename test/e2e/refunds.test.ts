import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStaff } from '../../src/staff/store.js';
import { FAILURE_CONVERTER_PATH } from '../../src/temporal/codec.js';
import type { ChannelNotificationArgs } from '../../domain/payment.js';
import { channelNotificationUpdate } from '../../workflows/contracts.js';
import { getRefundLedgerQuery, refundsWorkflowId } from '../../workflows/refund-contracts.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { recordHistory } from '../support/histories.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  // Refunds above 100.00 wait for review; an unconfirmed refund is asked about every 0.2 s.
  stack = await startStack({
    env: { REFUND_REVIEW_ABOVE_AMOUNT: '10000', REFUND_QUERY_SCHEDULE_SECONDS: '0.2,0.5,1', REFUNDS_IDLE_SECONDS: '5' },
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** A paid course of `amount` minor units on `channel`. */
async function paidPayment(channel: 'alipay' | 'wechatpay', amount = 19_900) {
  const body = buildPaymentRequest({ channel, items: [buildItem({ unitAmount: amount })] });
  const created = await stack.request('POST', '/v1/payments', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await payAtChannel(stack, created.body.paymentId);
  await waitForStatus(stack, created.body.paymentId, 'succeeded');
  return { paymentId: created.body.paymentId as string, orderId: body.orderId as string };
}

const requestRefund = (
  paymentId: string,
  amount: number,
  reason = 'the learner changed their mind',
  idempotencyKey = uniqueId('idem'),
) =>
  stack.client.send('POST', `/v1/payments/${paymentId}/refunds`, {
    body: { amount, reason },
    idempotencyKey,
  }) as Promise<{ status: number; body: any }>;

async function waitForRefund(paymentId: string, refundId: string, status: string) {
  return pollUntil(
    async () => (await stack.request('GET', `/v1/payments/${paymentId}/refunds/${refundId}`)).body,
    (refund) => refund?.status === status,
  );
}

async function staffToken(role: 'support' | 'finance' | 'admin') {
  const name = uniqueId(role).toLowerCase();
  const { token } = await addStaff(stack.database.models, name, role);
  return { name, token };
}

/** The workflow's refusal of an Update: its error type and words. */
async function refusalOf(update: Promise<unknown>): Promise<{ type: string | undefined; message: string }> {
  const err = await update.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause as { type?: string; message: string };
  return { type: cause.type, message: cause.message };
}

const asStaff = (token: string, method: string, path: string, body?: unknown) =>
  fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

describe.each(['alipay', 'wechatpay'] as const)('refunds on request with %s', (channel) => {
  it('refunds part of a paid course, then the rest; the payment ends refunded and the platform hears each', async () => {
    const { paymentId, orderId } = await paidPayment(channel, 9_000);

    const first = await requestRefund(paymentId, 3_000);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({
      refundId: expect.stringMatching(/^rfd_[0-9a-f]{32}$/),
      paymentId,
      amount: 3_000,
      currency: 'CNY',
      status: 'processing',
      reason: 'the learner changed their mind',
      requestedAt: expect.any(String),
    });
    const done = await waitForRefund(paymentId, first.body.refundId, 'succeeded');
    expect(done.completedAt).toEqual(expect.any(String));
    const partial = await waitForStatus(stack, paymentId, 'partially_refunded');
    expect(partial).toMatchObject({ refundedAmount: 3_000, refundableAmount: 6_000 });
    expect(partial.refunds).toEqual([expect.objectContaining({ refundId: first.body.refundId, status: 'succeeded' })]);

    const tooMuch = await requestRefund(paymentId, 6_001);
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error).toMatchObject({ code: 'refund_exceeds_refundable', param: 'amount' });

    const rest = await requestRefund(paymentId, 6_000);
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    await waitForRefund(paymentId, rest.body.refundId, 'succeeded');
    const refunded = await waitForStatus(stack, paymentId, 'refunded');
    expect(refunded).toMatchObject({ refundedAmount: 9_000, refundableAmount: 0 });

    const again = await requestRefund(paymentId, 1);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('payment_not_refundable');

    const events = await pollUntil(
      () => platformEvents(stack, orderId),
      (list) =>
        list.filter((e) => e.type === 'refund.succeeded').length === 2 &&
        list.some((e) => e.type === 'payment.refunded'),
    );
    expect(events.filter((e) => e.type === 'payment.refunded')).toHaveLength(1);
    await recordHistory(stack.temporal.client, paymentId, `succeeded-sealed-${channel}`);
    await recordHistory(stack.temporal.client, refundsWorkflowId(paymentId), `refunds-partial-then-full-${channel}`);
  });
});

describe('the refundable balance', () => {
  it('holds under ten concurrent requests: exactly the ones that fit are taken, none refunded twice', async () => {
    const { paymentId } = await paidPayment('wechatpay', 10_000);
    const answers = await Promise.all(Array.from({ length: 10 }, () => requestRefund(paymentId, 3_000)));
    const taken = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    expect(taken).toHaveLength(3);
    expect(refused.map((a) => a.body.error.code)).toEqual(Array(7).fill('refund_exceeds_refundable'));
    for (const a of taken) await waitForRefund(paymentId, a.body.refundId, 'succeeded');
    const payment = await waitForStatus(stack, paymentId, 'partially_refunded');
    expect(payment).toMatchObject({ refundedAmount: 9_000, refundableAmount: 1_000 });
  });

  it('answers a retried request (same Idempotency-Key) with the first refund', async () => {
    const { paymentId } = await paidPayment('alipay', 5_000);
    const key = uniqueId('idem');
    const [a, b] = await Promise.all([
      requestRefund(paymentId, 1_000, 'dup', key),
      requestRefund(paymentId, 1_000, 'dup', key),
    ]);
    const ok = [a, b].filter((r) => r.status === 201);
    expect(ok.length).toBeGreaterThan(0);
    const retried = await stack.client.requestRefund(
      paymentId,
      { amount: 1_000, reason: 'dup' },
      { idempotencyKey: key },
    );
    expect(retried.refundId).toBe(ok[0]?.body.refundId);
    const ledger = await stack.temporal.client.workflow
      .getHandle(refundsWorkflowId(paymentId))
      .query(getRefundLedgerQuery);
    expect(ledger.refunds).toHaveLength(1);
  });

  it('refuses a refund of an unpaid payment and of an unknown one', async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
    const unpaid = await requestRefund(created.body.paymentId, 100);
    expect(unpaid.status).toBe(409);
    expect(unpaid.body.error.code).toBe('payment_not_refundable');
    const unknown = await requestRefund('pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa', 100);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('payment_not_found');
  });
});

describe('a refund asked for the moment the platform hears payment.succeeded', () => {
  // The webhook goes out just before the workflow's last read-model write: here that write is held
  // back by putting the read model one step behind, as it stands between the two.
  const holdLastWrite = (paymentId: string) =>
    stack.database.models.payments.updateOne({ _id: paymentId }, { $set: { status: 'processing' } });

  it('waits for the payment to settle and is taken', async () => {
    const { paymentId } = await paidPayment('alipay', 5_000);
    await holdLastWrite(paymentId);
    const settle = new Promise((resolve) => setTimeout(resolve, 800)).then(() =>
      stack.database.models.payments.updateOne({ _id: paymentId }, { $set: { status: 'succeeded' } }),
    );
    const refund = await requestRefund(paymentId, 1_000);
    await settle;
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    await waitForRefund(paymentId, refund.body.refundId, 'succeeded');
  });

  it('answers a payment that does not settle with 409 payment_not_refundable that says to retry', async () => {
    const { paymentId } = await paidPayment('wechatpay', 5_000);
    await holdLastWrite(paymentId);
    const refund = await requestRefund(paymentId, 1_000);
    expect(refund.status).toBe(409);
    expect(refund.body.error.code).toBe('payment_not_refundable');
    expect(refund.body.error.message).toMatch(/still being settled; retry the refund in a few seconds/);
  });
});

describe('review by finance', () => {
  it('a large refund waits for review; finance approves it and it is made; the audit holds the decision', async () => {
    const { paymentId } = await paidPayment('wechatpay', 30_000);
    const asked = await requestRefund(paymentId, 20_000);
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ status: 'pending_review', reviewReason: expect.stringContaining('above') });
    const waiting = await stack.request('GET', `/v1/payments/${paymentId}`);
    expect(waiting.body.refundableAmount).toBe(10_000);

    const finance = await staffToken('finance');
    const queue = await asStaff(finance.token, 'GET', '/staff/v1/refunds?status=pending_review');
    expect(queue.body.refunds.map((r: { refundId: string }) => r.refundId)).toContain(asked.body.refundId);

    const approved = await asStaff(finance.token, 'POST', `/staff/v1/refunds/${asked.body.refundId}/approve`, {
      reason: 'course not started',
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({
      status: 'processing',
      decision: { operator: finance.name, role: 'finance', via: 'api' },
    });
    await waitForRefund(paymentId, asked.body.refundId, 'succeeded');

    const audit = await asStaff(finance.token, 'GET', `/staff/v1/audit?paymentId=${paymentId}`);
    expect(audit.body.entries).toEqual([
      expect.objectContaining({
        operator: finance.name,
        role: 'finance',
        action: 'refund.approve',
        target: `refund:${asked.body.refundId}`,
        reason: 'course not started',
        before: { status: 'pending_review' },
        after: { status: 'processing' },
        via: 'api',
      }),
    ]);
    await recordHistory(stack.temporal.client, refundsWorkflowId(paymentId), 'refund-review-approved');
  });

  it('a rejected refund releases its share and tells the platform', async () => {
    const { paymentId, orderId } = await paidPayment('alipay', 30_000);
    const asked = await requestRefund(paymentId, 25_000);
    const finance = await staffToken('finance');
    const rejected = await asStaff(finance.token, 'POST', `/staff/v1/refunds/${asked.body.refundId}/reject`, {
      reason: 'outside the refund policy',
    });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body.status).toBe('rejected');
    const payment = await pollUntil(
      async () => (await stack.request('GET', `/v1/payments/${paymentId}`)).body,
      (p) => p.refunds?.[0]?.status === 'rejected',
    );
    expect(payment).toMatchObject({ status: 'succeeded', refundableAmount: 30_000, refundedAmount: 0 });
    await pollUntil(
      () => platformEvents(stack, orderId),
      (list) => list.some((e) => e.type === 'refund.rejected'),
    );
    const twice = await asStaff(finance.token, 'POST', `/staff/v1/refunds/${asked.body.refundId}/approve`, {
      reason: 'changed my mind',
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('refund_not_pending_review');
    await recordHistory(stack.temporal.client, refundsWorkflowId(paymentId), 'refund-review-rejected');
  });

  it('four eyes: whoever requested a refund cannot approve it; support cannot decide at all', async () => {
    const { paymentId } = await paidPayment('wechatpay', 2_000);
    const finance = await staffToken('finance');
    const support = await staffToken('support');
    const asked = await asStaff(finance.token, 'POST', `/staff/v1/payments/${paymentId}/refunds`, {
      amount: 500,
      reason: 'goodwill',
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    expect(asked.body).toMatchObject({
      status: 'pending_review',
      requestedBy: { kind: 'staff', operator: finance.name },
    });
    const own = await asStaff(finance.token, 'POST', `/staff/v1/refunds/${asked.body.refundId}/approve`, {
      reason: 'ok',
    });
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('four_eyes_required');
    const bySupport = await asStaff(support.token, 'POST', `/staff/v1/refunds/${asked.body.refundId}/approve`, {
      reason: 'ok',
    });
    expect(bySupport.status).toBe(403);
    expect(bySupport.body.error.code).toBe('staff_forbidden');
    const other = await staffToken('finance');
    const approved = await asStaff(other.token, 'POST', `/staff/v1/refunds/${asked.body.refundId}/approve`, {
      reason: 'ok',
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  });

  it('a decision through Temporal itself needs a ticket from the staff API, and four eyes hold there too', async () => {
    const { paymentId } = await paidPayment('alipay', 30_000);
    const asked = await requestRefund(paymentId, 20_000);
    const handle = stack.temporal.client.workflow.getHandle(refundsWorkflowId(paymentId));
    const forged = handle.executeUpdate('approveRefund', {
      args: [{ refundId: asked.body.refundId, operator: 'mallory', reason: 'trust me', ticket: 'x.y' }],
    });
    expect(await refusalOf(forged)).toMatchObject({ type: 'staff_ticket_invalid' });

    const finance = await staffToken('finance');
    const issued = await asStaff(finance.token, 'POST', `/staff/v1/refunds/${asked.body.refundId}/ticket`, {
      action: 'approveRefund',
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    expect(issued.body).toMatchObject({ workflowId: refundsWorkflowId(paymentId), update: 'approveRefund' });
    // Someone else typing the finance member's ticket under their own name gets nothing.
    const stolen = handle.executeUpdate('approveRefund', {
      args: [{ ...issued.body.input, operator: 'mallory', reason: 'borrowed' }],
    });
    expect(await refusalOf(stolen)).toMatchObject({ type: 'staff_ticket_invalid' });
    const decided = await handle.executeUpdate('approveRefund', {
      args: [{ ...issued.body.input, reason: 'approved from the Web UI' }],
    });
    expect(decided).toMatchObject({ status: 'processing', decision: { operator: finance.name, via: 'temporal-ui' } });
    await waitForRefund(paymentId, asked.body.refundId, 'succeeded');
  });
});

describe('messages straight to Temporal', () => {
  it('a forged paid notification sent as an Update changes nothing', async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
    const { paymentId, amount } = created.body;
    const forged: ChannelNotificationArgs = {
      channel: 'alipay',
      notificationId: 'forged-1',
      outTradeNo: paymentId,
      channelTradeNo: '2026000000000000000000000001',
      state: 'PAID',
      amount,
      currency: 'CNY',
      merchantId: stack.keyring.alipay.sellerId,
      appId: stack.keyring.alipay.appId,
    };
    const handle = stack.temporal.client.workflow.getHandle(paymentId);
    expect(await refusalOf(handle.executeUpdate(channelNotificationUpdate, { args: [forged] }))).toMatchObject({
      type: 'message_not_sealed',
    });
    const withBadSeal = handle.executeUpdate(channelNotificationUpdate, { args: [{ ...forged, seal: 'AAAA' }] });
    expect(await refusalOf(withBadSeal)).toMatchObject({ type: 'message_not_sealed' });
    const payment = (await stack.request('GET', `/v1/payments/${paymentId}`)).body;
    expect(payment.status).toBe('awaiting_payment');
    expect(payment.voucher).toBeNull();
  });

  it('a message that is not encrypted with the codec is refused, and the payment goes on as if none came', async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'wechatpay' }));
    const { paymentId, amount } = created.body;
    // A client without the product's codec, as the CLI or the Web UI without the codec server: it
    // reads a refusal's type, not its (encrypted) words.
    const plain = new Client({
      connection: stack.temporal.client.connection,
      namespace: stack.config.TEMPORAL_NAMESPACE,
      dataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH },
    });
    const handle = plain.workflow.getHandle(paymentId);
    const paid: ChannelNotificationArgs = {
      channel: 'wechatpay',
      notificationId: 'plain-1',
      outTradeNo: paymentId,
      channelTradeNo: '4200000000000000000000000001',
      state: 'PAID',
      amount,
      currency: 'CNY',
      merchantId: stack.keyring.wechatpay.mchId,
      appId: stack.keyring.wechatpay.appId,
    };
    for (const [name, args] of [
      ['channelNotification', paid],
      ['cancelPayment', { reason: 'plaintext' }],
      ['retryNow', { operator: 'mallory', reason: 'plaintext' }],
    ] as const) {
      expect(await refusalOf(handle.executeUpdate(name, { args: [args] })), name).toMatchObject({
        type: 'message_malformed',
      });
    }
    // The plaintext never reached the workflow: it still awaits payment, and pays normally.
    expect((await stack.request('GET', `/v1/payments/${paymentId}`)).body.status).toBe('awaiting_payment');
    await payAtChannel(stack, paymentId);
    await waitForStatus(stack, paymentId, 'succeeded');
  });

  it('a refund request sent straight to the refunds workflow is refused', async () => {
    const { paymentId } = await paidPayment('wechatpay', 1_000);
    await requestRefund(paymentId, 100);
    const handle = stack.temporal.client.workflow.getHandle(refundsWorkflowId(paymentId));
    const forged = refusalOf(
      handle.executeUpdate('requestRefund', {
        args: [
          {
            amount: 900,
            reason: 'forged',
            requestedBy: { kind: 'platform' },
            policy: { reviewAboveAmount: 1_000_000, reviewAfterDays: 1000 },
            requestedAt: new Date().toISOString(),
            seal: 'forged',
          },
        ],
      }),
    );
    expect(await forged).toMatchObject({ type: 'message_not_sealed' });
    const ledger = await handle.query(getRefundLedgerQuery);
    expect(ledger.refunds).toHaveLength(1);
  });
});
