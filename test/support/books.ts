import { expect } from 'vitest';
import type { ChannelBooks } from '../../src/sandbox/channels/types.js';
import type { TestStack } from './stack.js';

/** What `GET /sandbox/v1/payments/:paymentId/books` answers. */
export interface PaymentBooks {
  paymentId: string;
  /** Every order the simulated channels hold for the payment, newest first. */
  orders: ChannelBooks[];
  /** Captured and refunded per currency, in minor units, over those orders. */
  totals: { currency: string; captured: number; refunded: number }[];
}

/**
 * The simulated channels' own books for a payment: a witness the payment system does not write,
 * unlike its `channel_orders` and `refunds` collections.
 */
export async function channelBooks(stack: TestStack, paymentId: string): Promise<PaymentBooks> {
  const res = await stack.request('GET', `/sandbox/v1/payments/${paymentId}/books`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as PaymentBooks;
}

/** The one order the channels hold for a payment; fails the test when they hold none or several. */
export async function onlyChannelOrder(stack: TestStack, paymentId: string): Promise<ChannelBooks> {
  const { orders } = await channelBooks(stack, paymentId);
  expect(orders, `channel orders of ${paymentId}`).toHaveLength(1);
  return orders[0] as ChannelBooks;
}

/**
 * Checks that the channel holds one order for the payment, captured `captured` and refunded
 * exactly `refunds` (amounts, oldest first, each settled); the order's `state` is `PAID` when
 * something was captured and `CLOSED` otherwise, unless given. Answers the order.
 */
export async function expectChannelBooks(
  stack: TestStack,
  paymentId: string,
  expected: { captured: number; refunds: number[]; state?: ChannelBooks['state'] },
): Promise<ChannelBooks> {
  const order = await onlyChannelOrder(stack, paymentId);
  const refunded = expected.refunds.reduce((sum, amount) => sum + amount, 0);
  expect(
    {
      state: order.state,
      captured: order.captured,
      refunded: order.refunded,
      refunds: order.refunds.map((r) => [r.amount, r.state]),
    },
    `channel books of ${paymentId}`,
  ).toEqual({
    state: expected.state ?? (expected.captured > 0 ? 'PAID' : 'CLOSED'),
    captured: expected.captured,
    refunded,
    refunds: expected.refunds.map((amount) => [amount, 'SUCCEEDED']),
  });
  return order;
}
