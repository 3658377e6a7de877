import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderIdKey, PaymentStatusKey } from '../../workflows/search-attributes.js';
import { buildPaymentRequest } from '../support/builders.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('what support staff see in the Temporal Web UI', () => {
  it('tags each payment with its order id and status, and nothing personal', async () => {
    const body = buildPaymentRequest({ customerId: 'learner-secret-77' });
    const created = await stack.request('POST', '/v1/payments', body);
    const description = await stack.temporal.client.workflow.getHandle(created.body.paymentId).describe();

    expect(description.typedSearchAttributes.get(OrderIdKey)).toBe(body.orderId);
    expect(description.typedSearchAttributes.get(PaymentStatusKey)).toBe('awaiting_payment');
    expect(JSON.stringify(description.searchAttributes)).not.toContain('learner-secret-77');
  });

  it('finds a payment by its order id with a list filter', async () => {
    const body = buildPaymentRequest();
    const created = await stack.request('POST', '/v1/payments', body);
    await expect
      .poll(
        async () => {
          const ids: string[] = [];
          for await (const wf of stack.temporal.client.workflow.list({
            query: `OrderId = '${String(body.orderId)}'`,
          })) {
            ids.push(wf.workflowId);
          }
          return ids;
        },
        { timeout: 15_000, interval: 250 },
      )
      .toEqual([created.body.paymentId]);
  });
});
