import { expect } from 'vitest';
import type { PaymentStatus } from '../../domain/payment.js';
import type { TestStack } from './stack.js';

/**
 * Calls `read` until its answer passes `done`, or throws after `timeoutMs` with the last answer.
 * A plain loop, so it works in concurrent tests too.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms; last answer: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls `GET /v1/payments/:id` until the payment reaches `status`; returns the payment. */
export async function waitForStatus(stack: TestStack, paymentId: string, status: PaymentStatus, timeoutMs = 30_000) {
  return pollUntil(
    async () => (await stack.request('GET', `/v1/payments/${paymentId}`)).body,
    (payment) => payment?.status === status,
    timeoutMs,
  );
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
    tamperQueryAmount?: boolean;
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

/** What a cashier page's Pay and Decline forms post: their hidden token field, as a browser sends it. */
export function cashierFormOf(html: string): URLSearchParams {
  const [, name = '', value = ''] = /<input type="hidden" name="([^"]+)" value="([^"]*)">/.exec(html) ?? [];
  return new URLSearchParams({ [name]: value });
}
