import { isCurrency, type Currency } from './money.js';
import type { ChannelNotificationArgs, PaymentChannel, PaymentRequest } from './payment.js';
import { pricingViolation } from './pricing.js';

/**
 * The business rules a payment must meet before any channel is asked, checked again inside the
 * workflow (the API checks the shape; a workflow may also be started by other tooling).
 * @returns why the request breaks a rule, or `undefined` when it meets them all.
 */
export function businessRuleViolation(request: PaymentRequest): string | undefined {
  if (!isCurrency(request.currency)) return `currency ${String(request.currency)} is not supported`;
  if (!Number.isSafeInteger(request.amount) || request.amount <= 0)
    return 'amount must be a positive integer of minor units';
  if (request.items.length === 0) return 'a payment needs at least one item';
  for (const item of request.items) {
    if (!Number.isSafeInteger(item.unitAmount) || item.unitAmount < 0)
      return `item ${item.courseId} has a bad unit amount`;
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 1) return `item ${item.courseId} has a bad quantity`;
  }
  const pricing = pricingViolation(request.items, request.discounts ?? [], request.amount, (index) => {
    const item = request.items[index];
    return `item ${item?.courseId ?? index + 1}`;
  });
  if (pricing !== undefined) return pricing;
  if (request.expiresInSeconds < 60 || request.expiresInSeconds > 86_400)
    return 'the payment window must be 60 to 86400 seconds';
  return undefined;
}

/** What the learner sees at the channel's cashier: the course titles, cut to a channel-safe length. */
export function paymentSubject(request: PaymentRequest): string {
  const titles = request.items.map((i) => (i.quantity > 1 ? `${i.title} x${i.quantity}` : i.title)).join(', ');
  return titles.length > 120 ? `${titles.slice(0, 119)}…` : titles;
}

/** What a channel notice must match: the payment and the channel order it was opened with. */
export interface NoticeExpectation {
  paymentId: string;
  /** The channel that holds an order of this payment, or `null` when none does. */
  channel: PaymentChannel | null;
  merchantId: string | null;
  amount: number;
  currency: Currency;
}

/**
 * The one check of a verified channel notice against its payment: the order, the channel, the
 * merchant, the currency and the amount must all be the payment's. A signature proves who sent a
 * notice, not that it is about this payment.
 * @returns what differs, or `undefined` when the notice is about this payment.
 */
export function noticeMismatch(
  notice: Pick<ChannelNotificationArgs, 'outTradeNo' | 'channel' | 'merchantId' | 'amount' | 'currency'>,
  expected: NoticeExpectation,
): string | undefined {
  if (notice.outTradeNo !== expected.paymentId) return 'out_trade_no is not this payment';
  if (expected.channel === null || notice.channel !== expected.channel)
    return `no order of this payment at ${notice.channel}`;
  if (notice.merchantId !== expected.merchantId) return 'merchant id differs';
  if (notice.currency !== expected.currency) return `currency ${notice.currency} differs from ${expected.currency}`;
  if (notice.amount !== expected.amount) return `amount ${notice.amount} differs from ${expected.amount}`;
  return undefined;
}
