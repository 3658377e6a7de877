import type { PaymentRequest } from './contracts.js';
import { isCurrency } from './money.js';

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
  let total = 0;
  for (const item of request.items) {
    if (!Number.isSafeInteger(item.unitAmount) || item.unitAmount < 0)
      return `item ${item.courseId} has a bad unit amount`;
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 1) return `item ${item.courseId} has a bad quantity`;
    total += item.unitAmount * item.quantity;
  }
  if (total !== request.amount) return `amount ${request.amount} differs from the items' total ${total}`;
  if (request.expiresInSeconds < 60 || request.expiresInSeconds > 86_400)
    return 'the payment window must be 60 to 86400 seconds';
  return undefined;
}

/** What the learner sees at the channel's cashier: the course titles, cut to a channel-safe length. */
export function paymentSubject(request: PaymentRequest): string {
  const titles = request.items.map((i) => (i.quantity > 1 ? `${i.title} x${i.quantity}` : i.title)).join(', ');
  return titles.length > 120 ? `${titles.slice(0, 119)}…` : titles;
}
