import { describe, expect, it } from 'vitest';
import { PAYMENT_ID_PATTERN, paymentIdForOrder, requestFingerprint } from '../../src/payments/identity.js';
import type { PaymentRequest } from '../../workflows/contracts.js';

const request: PaymentRequest = {
  orderId: 'ord-1',
  customerId: 'cust-1',
  currency: 'CNY',
  amount: 100,
  items: [{ courseId: 'c1', title: 'Course', unitAmount: 100, quantity: 1 }],
  expiresInSeconds: 900,
};

describe('payment identity', () => {
  it('derives the same payment id from the same order id, and a different one otherwise', () => {
    expect(paymentIdForOrder('ord-1')).toBe(paymentIdForOrder('ord-1'));
    expect(paymentIdForOrder('ord-1')).not.toBe(paymentIdForOrder('ord-2'));
  });

  it('makes ids every channel accepts as out_trade_no (at most 32 characters)', () => {
    for (const orderId of ['a', 'x'.repeat(64), 'ORD_2026-11-24']) {
      const id = paymentIdForOrder(orderId);
      expect(id).toMatch(PAYMENT_ID_PATTERN);
      expect(id.length).toBeLessThanOrEqual(32);
    }
  });

  it('fingerprints a request independently of key order', () => {
    const { items, ...rest } = request;
    const reordered = JSON.parse(JSON.stringify({ items, ...rest })) as PaymentRequest;
    expect(requestFingerprint(reordered)).toBe(requestFingerprint(request));
  });

  it('fingerprints a changed amount differently', () => {
    expect(requestFingerprint({ ...request, amount: 101 })).not.toBe(requestFingerprint(request));
  });
});
