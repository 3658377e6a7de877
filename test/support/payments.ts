import { expect } from 'vitest';
import type { PaymentStatus } from '../../workflows/contracts.js';
import type { TestStack } from './stack.js';

/** Polls `GET /v1/payments/:id` until the payment reaches `status`; returns the payment. */
export async function waitForStatus(stack: TestStack, paymentId: string, status: PaymentStatus, timeoutMs = 30_000) {
  let last: any;
  await expect
    .poll(
      async () => {
        last = (await stack.request('GET', `/v1/payments/${paymentId}`)).body;
        return last?.status;
      },
      { timeout: timeoutMs, interval: 200 },
    )
    .toBe(status);
  return last;
}

/** The sandbox payer completes the payment at the channel (`POST /sandbox/v1/payments/:id/pay`). */
export async function payAtChannel(
  stack: TestStack,
  paymentId: string,
  options: {
    outcome?: 'success' | 'declined';
    notifications?: number;
    tamperAmount?: boolean;
    afterClose?: boolean;
  } = {},
) {
  const res = await stack.request('POST', `/sandbox/v1/payments/${paymentId}/pay`, { outcome: 'success', ...options });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The webhooks the platform stub received for an order. */
export async function platformEvents(
  stack: TestStack,
  orderId: string,
): Promise<{ type: string; deliveries: number }[]> {
  const res = await stack.request('GET', `/sandbox/v1/platform/events?orderId=${orderId}`);
  return res.body.events;
}
