import { randomUUID } from 'node:crypto';
import { paymentIdForOrder } from '../../src/payments/identity.js';
import type { VoucherFacts } from '../../src/vouchers/voucher.js';
import type { PaymentItem } from '../../domain/payment.js';

/** A unique id with a readable prefix, so parallel tests never share workflow ids or orders. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** The payment id key of every test stack, so a test can name the payment of an order it made. */
export const TEST_PAYMENT_ID_KEY = Buffer.alloc(32, 'test-payment-ids').toString('base64');

/** The payment id a test stack gives `orderId`. */
export function testPaymentId(orderId: string): string {
  return paymentIdForOrder(orderId, TEST_PAYMENT_ID_KEY);
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

/** The facts of a paid payment, as a voucher carries them. */
export function buildVoucherFacts(overrides: Partial<VoucherFacts> = {}): VoucherFacts {
  return {
    paymentId: 'pay_abcdefghijklmnopqrstuvwxyz23',
    orderId: 'ord-1',
    amount: 19_900,
    currency: 'CNY',
    channel: 'alipay',
    channelTradeNo: '2026112422001400000000000001',
    items: [{ courseId: 'ts-101', title: 'TypeScript 101', unitAmount: 19_900, quantity: 1 }],
    paidAt: '2026-11-24T10:00:00.000Z',
    issuedAt: '2026-11-24T10:00:01.000Z',
    ...overrides,
  };
}
