import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStaff } from '../../src/staff/store.js';
import { refundsWorkflowId } from '../../workflows/refund-contracts.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { recordHistory } from '../support/histories.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * The runbook's scenarios (docs/runbook.md), scripted: the Web UI's list filter finds the payment
 * through the real server's visibility, the one action resolves it, the audit holds it.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      REFUND_REVIEW_ABOVE_AMOUNT: '10000',
      REFUNDS_IDLE_SECONDS: '5',
      // An unconfirmed refund is asked about after 2 s, then only every 10 minutes: once it is
      // flagged, nothing but a staff action settles it within a test.
      REFUND_QUERY_SCHEDULE_SECONDS: '2,600',
      // Sandbox refunds settle after 1.8 s: still processing when the channel first answers.
      SANDBOX_TIME_SCALE: '0.01',
      // A channel or webhook endpoint that fails for 2 s asks for people.
      ATTENTION_CHANNEL_AFTER_SECONDS: '2',
      ATTENTION_WEBHOOK_AFTER_SECONDS: '2',
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** The workflow ids a Web UI list filter shows, once visibility has caught up. */
async function listed(query: string, expected: string, present: boolean, timeoutMs = 20_000) {
  return pollUntil(
    async () => {
      const ids: string[] = [];
      for await (const wf of stack.temporal.client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids;
    },
    (ids) => ids.includes(expected) === present,
    timeoutMs,
  );
}

async function staffMember(role: 'support' | 'finance') {
  const name = uniqueId(role).toLowerCase();
  const { token } = await addStaff(stack.database.models, name, role);
  return { name, token };
}

/** A staff API call with a bearer token; answers status and parsed body. */
async function asStaff(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** `GET /staff/v1/audit?paymentId=`: the payment's audit trail, newest first. */
async function auditOf(token: string, paymentId: string): Promise<Record<string, unknown>[]> {
  const res = await asStaff(token, 'GET', `/staff/v1/audit?paymentId=${paymentId}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.entries;
}

async function createPayment(channel: 'alipay' | 'wechatpay', amount = 19_900) {
  const body = buildPaymentRequest({ channel, items: [buildItem({ unitAmount: amount })] });
  const created = await stack.request('POST', '/v1/payments', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.channel).toBe(channel);
  return { paymentId: created.body.paymentId as string, orderId: body.orderId as string, amount };
}

async function paidPayment(channel: 'alipay' | 'wechatpay', amount = 19_900) {
  const payment = await createPayment(channel, amount);
  await payAtChannel(stack, payment.paymentId);
  await waitForStatus(stack, payment.paymentId, 'succeeded');
  return payment;
}

const outage = (channel: 'alipay' | 'wechatpay', operations: string[], enabled: boolean) =>
  stack.request('POST', `/sandbox/v1/channels/${channel}/outage`, { operations, enabled }).then((res) => {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

/** Waits until an activity of `activityType` of the workflow has completed, by its history. */
async function activityCompleted(workflowId: string, activityType: string) {
  const handle = stack.temporal.client.workflow.getHandle(workflowId);
  await pollUntil(
    async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const scheduled = new Set(
        events
          .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
          .map((e) => String(e.eventId)),
      );
      return events.some((e) => {
        const completed = e.activityTaskCompletedEventAttributes;
        return completed ? scheduled.has(String(completed.scheduledEventId)) : false;
      });
    },
    (done) => done,
    10_000,
  );
}

describe('runbook: a refund waits for review', () => {
  it('the NeedsAttention filter finds it; a finance approval resolves it and is audited', async () => {
    const body = buildPaymentRequest({ channel: 'alipay', items: [buildItem({ unitAmount: 30_000 })] });
    const created = await stack.request('POST', '/v1/payments', body);
    const { paymentId } = created.body;
    await payAtChannel(stack, paymentId);
    await waitForStatus(stack, paymentId, 'succeeded');
    const asked = await stack.client.requestRefund(paymentId, { amount: 20_000, reason: 'course not started' });
    expect(asked.status).toBe('pending_review');

    const filter = `NeedsAttention = true AND StuckReason = "refund_review" AND OrderId = "${body.orderId as string}"`;
    await listed(filter, refundsWorkflowId(paymentId), true);

    const name = uniqueId('fin').toLowerCase();
    const { token } = await addStaff(stack.database.models, name, 'finance');
    const approve = await fetch(`${stack.baseUrl}/staff/v1/refunds/${asked.refundId}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'within policy' }),
    });
    expect(approve.status).toBe(200);
    await listed(filter, refundsWorkflowId(paymentId), false);
    const entries = (await stack.database.models.auditEntries.find({ refundId: asked.refundId }).lean()).map(
      (e) => e.action,
    );
    expect(entries).toEqual(['refund.approve']);
  });
});

describe('runbook: a refund the channel does not confirm', () => {
  it('the refund_failing filter finds it; once the channel is back a requery settles it and is audited', async () => {
    const { paymentId, orderId } = await paidPayment('alipay', 9_000);
    const workflowId = refundsWorkflowId(paymentId);
    const asked = await stack.client.requestRefund(paymentId, { amount: 5_000, reason: 'course cancelled' });
    expect(asked.status).toBe('processing');
    // Alipay took the refund (it processes for 1.8 s); then its refund API goes down before the
    // workflow first asks how the refund stands.
    await activityCompleted(workflowId, 'startChannelRefund');
    await outage('alipay', ['refund'], true);
    const filter = `NeedsAttention = true AND StuckReason = "refund_failing" AND OrderId = "${orderId}"`;
    const support = await staffMember('support');
    try {
      // The query's own retries (about 15 s) run out before the refund is flagged.
      await listed(filter, workflowId, true, 45_000);
      // The read model records the refund's failure just after the flag is raised.
      const check = await pollUntil(
        () => asStaff(support.token, 'GET', `/staff/v1/payments/${paymentId}`),
        (res) => res.status === 200 && res.body.payment.needsAttention === true,
        10_000,
      );
      expect(check.body.payment.refunds).toEqual([
        expect.objectContaining({
          refundId: asked.refundId,
          status: 'processing',
          failureReason: expect.stringMatching(/did not answer a refund query/),
        }),
      ]);
    } finally {
      await outage('alipay', ['refund'], false);
    }

    const requery = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/requery`, {
      reason: 'Alipay status page: refunds are back',
      refundId: asked.refundId,
    });
    expect(requery.status, JSON.stringify(requery.body)).toBe(200);
    const refund = await pollUntil(
      async () => (await stack.request('GET', `/v1/payments/${paymentId}/refunds/${asked.refundId}`)).body,
      (r) => r?.status === 'succeeded',
      10_000,
    );
    expect(refund.failureReason).toBeUndefined();
    await listed(filter, workflowId, false);
    const after = await asStaff(support.token, 'GET', `/staff/v1/payments/${paymentId}`);
    expect(after.body.payment).toMatchObject({ status: 'partially_refunded', refundedAmount: 5_000 });
    expect(after.body.payment.needsAttention).toBe(false);

    expect(await auditOf(support.token, paymentId)).toEqual([
      expect.objectContaining({
        operator: support.name,
        role: 'support',
        via: 'api',
        action: 'refund.requery',
        target: `refund:${asked.refundId}`,
        refundId: asked.refundId,
        reason: 'Alipay status page: refunds are back',
        before: { status: 'processing', failureReason: expect.stringMatching(/did not answer a refund query/) },
      }),
    ]);
    await recordHistory(stack.temporal.client, workflowId, 'refund-failing-requeried');
  }, 90_000);
});

describe('runbook: a payment in manual_review', () => {
  it('the manual_review filter finds it; once refunds work again a staff retry refunds it and is audited', async () => {
    const { paymentId, orderId, amount } = await createPayment('alipay');
    // The platform cannot fulfil the order, so the saga owes a refund; and Alipay refunds are down.
    await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId });
    await outage('alipay', ['refund'], true);
    const filter = `PaymentStatus = "manual_review" AND StuckReason = "compensation_failed" AND OrderId = "${orderId}"`;
    const support = await staffMember('support');
    try {
      await payAtChannel(stack, paymentId);
      // The refund's retries take about two hours to run out on a real server. Once they have
      // started failing, Temporal's own UpdateActivityOptions ends them now: the next attempt
      // meets the outage and is the last.
      const handle = stack.temporal.client.workflow.getHandle(paymentId);
      const failing = await pollUntil(
        async () =>
          (await handle.describe()).raw.pendingActivities?.find(
            (a) => a.activityType?.name === 'refundPayment' && Boolean(a.lastFailure),
          ),
        (a) => a !== undefined,
        20_000,
      );
      await stack.temporal.client.workflowService.updateActivityOptions({
        namespace: stack.config.TEMPORAL_NAMESPACE,
        execution: { workflowId: paymentId },
        identity: 'runbook test',
        id: failing?.activityId ?? '',
        activityOptions: { retryPolicy: { maximumAttempts: 1 } },
        updateMask: { paths: ['retry_policy.maximum_attempts'] },
      });

      await listed(filter, paymentId, true, 30_000);
      const check = await pollUntil(
        () => asStaff(support.token, 'GET', `/staff/v1/payments/${paymentId}`),
        (res) => res.body.payment?.status === 'manual_review',
        10_000,
      );
      expect(check.status).toBe(200);
      expect(check.body.payment).toMatchObject({
        status: 'manual_review',
        needsAttention: true,
        failureReason: expect.stringMatching(new RegExp(`refund ${paymentId}-r1 of ${amount} could not be made`)),
      });
    } finally {
      await outage('alipay', ['refund'], false);
    }

    const retry = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/retry`, {
      reason: 'Alipay refunds are back',
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    const done = await waitForStatus(stack, paymentId, 'refunded', 20_000);
    expect(done.refunds).toEqual([
      expect.objectContaining({ refundId: `${paymentId}-r1`, amount, status: 'succeeded' }),
    ]);
    expect(done.failureReason).toBeNull();
    expect(await stack.database.models.refunds.countDocuments({ paymentId })).toBe(1);
    await listed(filter, paymentId, false);
    await listed(`NeedsAttention = true AND OrderId = "${orderId}"`, paymentId, false);
    await expect
      .poll(async () => (await platformEvents(stack, orderId)).map((e) => e.type))
      .toEqual(['payment.succeeded', 'payment.refunded']);

    expect(await auditOf(support.token, paymentId)).toEqual([
      expect.objectContaining({
        operator: support.name,
        role: 'support',
        via: 'api',
        action: 'payment.retry',
        target: `payment:${paymentId}`,
        reason: 'Alipay refunds are back',
        before: { status: 'manual_review' },
      }),
    ]);
    await recordHistory(stack.temporal.client, paymentId, 'manual-review-retried');
  }, 90_000);
  it('a compensation refund the channel declined for good: the retry makes a new refund under a new key', async () => {
    const { paymentId, orderId, amount } = await createPayment('wechatpay');
    await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId });
    await stack.request('POST', '/sandbox/v1/channels/wechatpay/refund-behaviour', {
      mode: 'immediate',
      outcome: 'closed',
    });
    try {
      await payAtChannel(stack, paymentId);
      await listed(
        `PaymentStatus = "manual_review" AND StuckReason = "compensation_failed" AND OrderId = "${orderId}"`,
        paymentId,
        true,
      );
    } finally {
      await stack.request('POST', '/sandbox/v1/channels/wechatpay/refund-behaviour', {});
    }
    const support = await staffMember('support');
    const retry = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/retry`, {
      reason: 'the learner fixed their WeChat account',
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    const done = await waitForStatus(stack, paymentId, 'refunded', 30_000);
    expect(done.refunds).toEqual([
      expect.objectContaining({ refundId: `${paymentId}-r1`, amount, status: 'failed' }),
      expect.objectContaining({ refundId: `${paymentId}-r1-2`, amount, status: 'succeeded' }),
    ]);
    const records = await stack.database.models.refunds.find({ paymentId }).lean();
    expect(records.map((r) => [r._id, r.status]).sort()).toEqual([
      [`${paymentId}-r1`, 'failed'],
      [`${paymentId}-r1-2`, 'succeeded'],
    ]);
    expect((await auditOf(support.token, paymentId)).map((e) => e.action)).toEqual(['payment.retry']);
    await recordHistory(stack.temporal.client, paymentId, 'manual-review-declined-then-new-refund');
  }, 90_000);
});

describe('runbook: the channel reports another amount', () => {
  it('the amount_mismatch filter finds it; retryNow closes the case (still manual_review) and is audited', async () => {
    const { paymentId, orderId, amount } = await createPayment('alipay');
    // The payment's notification is lost, and the simulated Alipay's query answers one yuan more.
    await payAtChannel(stack, paymentId, { notifications: 0, tamperQueryAmount: true });

    const support = await staffMember('support');
    const requery = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/requery`, {
      reason: 'learner says they paid',
    });
    expect(requery.status, JSON.stringify(requery.body)).toBe(200);
    const filter = `StuckReason = "amount_mismatch" AND OrderId = "${orderId}"`;
    await listed(filter, paymentId, true);
    const check = await pollUntil(
      () => asStaff(support.token, 'GET', `/staff/v1/payments/${paymentId}`),
      (res) => res.body.payment?.status === 'manual_review',
      10_000,
    );
    expect(check.body.payment).toMatchObject({
      status: 'manual_review',
      needsAttention: true,
      failureReason: expect.stringMatching(new RegExp(`reports a payment of ${amount + 100}`)),
    });

    const retry = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/retry`, {
      reason: 'difference settled with Alipay',
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    const handle = stack.temporal.client.workflow.getHandle(paymentId);
    const result = await handle.result();
    expect(result.status).toBe('manual_review');
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    await listed(`${filter} AND ExecutionStatus = "Running"`, paymentId, false);
    // The case is closed: nothing needs people any more.
    await listed(`NeedsAttention = true AND OrderId = "${orderId}"`, paymentId, false);
    const again = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/retry`, { reason: 'twice' });
    expect(again.status).toBe(409);
    await recordHistory(stack.temporal.client, paymentId, 'amount-mismatch-closed');

    const entries = await auditOf(support.token, paymentId);
    expect(entries.map((e) => e.action)).toEqual(['payment.retry', 'payment.requery']);
    expect(entries[0]).toMatchObject({
      operator: support.name,
      role: 'support',
      via: 'api',
      reason: 'difference settled with Alipay',
      before: { status: 'manual_review' },
    });
  });
});

describe('runbook: a learner paid but the notification was lost', () => {
  it('the awaiting_payment filter finds it; a requery settles it before the window ends and is audited', async () => {
    const { paymentId, orderId } = await createPayment('wechatpay');
    const paid = await payAtChannel(stack, paymentId, { notifications: 0 });
    expect(paid).toMatchObject({ tradeState: 'PAID', notificationsSent: 0 });

    const filter = `PaymentStatus = "awaiting_payment" AND OrderId = "${orderId}"`;
    await listed(filter, paymentId, true);
    const support = await staffMember('support');
    const check = await asStaff(support.token, 'GET', `/staff/v1/payments/${paymentId}`);
    expect(check.body.payment.status).toBe('awaiting_payment');

    const requery = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/requery`, {
      reason: 'the learner sent their WeChat Pay receipt',
    });
    expect(requery.status, JSON.stringify(requery.body)).toBe(200);
    const done = await waitForStatus(stack, paymentId, 'succeeded', 15_000);
    expect(Date.now()).toBeLessThan(Date.parse(done.expiresAt));
    expect(done.channelTradeNo).toBe(paid.channelTradeNo);
    expect(done.timeline.map((t: { event: string }) => t.event)).toEqual(
      expect.arrayContaining(['staff.requery', 'channel.query', 'voucher.issued', 'payment.succeeded']),
    );
    expect(await stack.database.models.callbacks.countDocuments({ outTradeNo: paymentId })).toBe(0);
    await listed(filter, paymentId, false);

    expect(await auditOf(support.token, paymentId)).toEqual([
      expect.objectContaining({
        operator: support.name,
        role: 'support',
        via: 'api',
        action: 'payment.requery',
        target: `payment:${paymentId}`,
        reason: 'the learner sent their WeChat Pay receipt',
        before: { status: 'awaiting_payment' },
      }),
    ]);
  });
});

describe('runbook: the platform says it never got a webhook', () => {
  it('the OrderId filter finds it; a resend delivers the same event again and is audited', async () => {
    const { paymentId, orderId } = await paidPayment('wechatpay');
    const eventId = `evt_${paymentId}_succeeded`;
    expect(await platformEvents(stack, orderId)).toEqual([
      expect.objectContaining({ eventId, type: 'payment.succeeded', deliveries: 1 }),
    ]);

    await listed(`OrderId = "${orderId}"`, paymentId, true);
    const support = await staffMember('support');
    const resend = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/resend-webhook`, {
      reason: 'the platform has no record of the order',
    });
    expect(resend.status, JSON.stringify(resend.body)).toBe(202);
    expect(resend.body).toMatchObject({ paymentId, eventId, type: 'payment.succeeded' });
    const delivered = await stack.temporal.client.workflow.getHandle(resend.body.workflowId).result();
    expect(delivered).toMatchObject({ delivered: true });
    expect(await platformEvents(stack, orderId)).toEqual([
      expect.objectContaining({ eventId, type: 'payment.succeeded', deliveries: 2 }),
    ]);

    expect(await auditOf(support.token, paymentId)).toEqual([
      expect.objectContaining({
        operator: support.name,
        role: 'support',
        via: 'api',
        action: 'webhook.resend',
        target: `payment:${paymentId}`,
        reason: 'the platform has no record of the order',
        after: { eventId, type: 'payment.succeeded', workflowId: resend.body.workflowId },
      }),
    ]);
  });
});

describe('runbook: the platform does not accept a webhook', () => {
  it('the webhook_failing filter finds the payment while the endpoint is down; the retries deliver once it is back', async () => {
    const { paymentId, orderId } = await createPayment('alipay');
    const outage = await stack.request('POST', '/sandbox/v1/platform/outage', { orderId, enabled: true });
    expect(outage.status).toBe(200);
    await payAtChannel(stack, paymentId);

    const filter = `NeedsAttention = true AND StuckReason = "webhook_failing" AND OrderId = "${orderId}"`;
    await listed(filter, paymentId, true);
    const handle = stack.temporal.client.workflow.getHandle(paymentId);
    const stuck = await handle.describe();
    expect(stuck.status.name).toBe('RUNNING');
    expect((await handle.query<{ status: string }>('getPayment')).status).toBe('processing');
    expect(await platformEvents(stack, orderId)).toEqual([]);

    await stack.request('POST', '/sandbox/v1/platform/outage', { orderId, enabled: false });
    await waitForStatus(stack, paymentId, 'succeeded', 60_000);
    await listed(filter, paymentId, false);
    await listed(`NeedsAttention = false AND OrderId = "${orderId}"`, paymentId, true);
    expect((await platformEvents(stack, orderId)).map((e) => e.type)).toEqual(['payment.succeeded']);
    await recordHistory(stack.temporal.client, paymentId, 'webhook-failing-then-delivered');
  });
});

describe('runbook: the channel does not answer', () => {
  it('the channel_unreachable filter finds a payment whose channel query keeps failing; it settles once the channel is back', async () => {
    const { paymentId, orderId } = await createPayment('wechatpay');
    await payAtChannel(stack, paymentId, { notifications: 0 });
    await stack.request('POST', '/sandbox/v1/channels/wechatpay/outage', { operations: ['query'], enabled: true });
    try {
      const support = await staffMember('support');
      const requery = await asStaff(support.token, 'POST', `/staff/v1/payments/${paymentId}/requery`, {
        reason: 'the learner sent their receipt',
      });
      expect(requery.status, JSON.stringify(requery.body)).toBe(200);

      const filter = `NeedsAttention = true AND StuckReason = "channel_unreachable" AND OrderId = "${orderId}"`;
      await listed(filter, paymentId, true);
      const check = await asStaff(support.token, 'GET', `/staff/v1/payments/${paymentId}`);
      expect(check.body.payment.status).toBe('awaiting_payment');
      const entries = await auditOf(support.token, paymentId);
      expect(entries.map((e) => e.action)).toEqual(['payment.requery']);
    } finally {
      await stack.request('POST', '/sandbox/v1/channels/wechatpay/outage', { operations: ['query'], enabled: false });
    }
    await waitForStatus(stack, paymentId, 'succeeded', 60_000);
    await listed(`NeedsAttention = false AND OrderId = "${orderId}"`, paymentId, true);
    await recordHistory(stack.temporal.client, paymentId, 'channel-unreachable-requeried');
  });
});
