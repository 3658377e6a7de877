import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  PAYMENT_ID_PATTERN,
  legacyPaymentIdForOrder,
  paymentIdForOrder,
  requestFingerprint,
} from '../../src/payments/identity.js';
import type { PaymentRequest } from '../../domain/payment.js';

const request: PaymentRequest = {
  orderId: 'ord-1',
  customerId: 'cust-1',
  currency: 'CNY',
  amount: 100,
  items: [{ courseId: 'c1', title: 'Course', unitAmount: 100, quantity: 1 }],
  expiresInSeconds: 900,
};

const key = Buffer.alloc(32, 1).toString('base64');
const otherKey = Buffer.alloc(32, 2).toString('base64');

describe('payment identity', () => {
  it('derives the same payment id from the same order id, and a different one otherwise', () => {
    expect(paymentIdForOrder('ord-1', key)).toBe(paymentIdForOrder('ord-1', key));
    expect(paymentIdForOrder('ord-1', key)).not.toBe(paymentIdForOrder('ord-2', key));
  });

  it('makes ids every channel accepts as out_trade_no (at most 32 characters)', () => {
    for (const orderId of ['a', 'x'.repeat(64), 'ORD_2026-11-24']) {
      const id = paymentIdForOrder(orderId, key);
      expect(id).toMatch(PAYMENT_ID_PATTERN);
      expect(id.length).toBeLessThanOrEqual(32);
    }
  });

  it('needs the key: another key, or no key at all, gives another id', () => {
    expect(paymentIdForOrder('ord-1', otherKey)).not.toBe(paymentIdForOrder('ord-1', key));
    expect(legacyPaymentIdForOrder('ord-1')).not.toBe(paymentIdForOrder('ord-1', key));
    expect(legacyPaymentIdForOrder('ord-1')).toMatch(PAYMENT_ID_PATTERN);
    // The id payments had before keyed ids, so a retried create of such an order finds its payment.
    expect(legacyPaymentIdForOrder('ord-1')).toBe('pay_' + base32Sha256('order:ord-1'));
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => paymentIdForOrder('ord-1', Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
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

/** RFC 4648 base32 (lower case, no padding) of SHA-256, first 28 characters: the legacy id formula. */
function base32Sha256(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  let bitsString = '';
  for (const byte of digest) bitsString += byte.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < 28; i++)
    out += 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(bitsString.slice(i * 5, i * 5 + 5), 2)];
  return out;
}
