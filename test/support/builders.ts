import { randomUUID } from 'node:crypto';
import type { PaymentItem } from '../../workflows/contracts.js';

/** A unique id with a readable prefix, so parallel tests never share workflow ids or orders. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

export function buildItem(overrides: Partial<PaymentItem> = {}): PaymentItem {
  return { courseId: 'ts-101', title: 'TypeScript from zero', unitAmount: 19_900, quantity: 1, ...overrides };
}

/**
 * A valid `POST /v1/payments` body; `amount` follows the items unless overridden.
 * `buildPaymentRequest({ items: [buildItem({ unitAmount: 1 })] })`.
 */
export function buildPaymentRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const items = (overrides.items as PaymentItem[] | undefined) ?? [buildItem()];
  return {
    orderId: uniqueId('ord'),
    customerId: 'cust-1001',
    currency: 'CNY',
    amount: items.reduce((sum, i) => sum + i.unitAmount * i.quantity, 0),
    items,
    ...overrides,
  };
}
