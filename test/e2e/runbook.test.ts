import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStaff } from '../../src/staff/store.js';
import { refundsWorkflowId } from '../../workflows/refund-contracts.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * The runbook's scenarios (docs/runbook.md), scripted: the Web UI's list filter finds the payment
 * through the real server's visibility, the one action resolves it, the audit holds it.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ env: { REFUND_REVIEW_ABOVE_AMOUNT: '10000', REFUNDS_IDLE_SECONDS: '5' } });
});
afterAll(async () => {
  await stack?.stop();
});

/** The workflow ids a Web UI list filter shows, once visibility has caught up. */
async function listed(query: string, expected: string, present: boolean) {
  return pollUntil(
    async () => {
      const ids: string[] = [];
      for await (const wf of stack.temporal.client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids;
    },
    (ids) => ids.includes(expected) === present,
    20_000,
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
