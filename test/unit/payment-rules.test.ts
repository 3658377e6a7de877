import { describe, expect, it } from 'vitest';
import type { PaymentRequest } from '../../domain/payment.js';
import { businessRuleViolation, paymentSubject } from '../../domain/payment-rules.js';

const request: PaymentRequest = {
  orderId: 'ord-1',
  customerId: 'cust-1',
  currency: 'CNY',
  amount: 29_800,
  items: [
    { courseId: 'ts-101', title: 'TypeScript 101', unitAmount: 19_900, quantity: 1 },
    { courseId: 'go-201', title: 'Go in practice', unitAmount: 9_900, quantity: 1 },
  ],
  expiresInSeconds: 900,
};

describe('payment business rules', () => {
  it('accepts a request whose amount is the sum of its items', () => {
    expect(businessRuleViolation(request)).toBeUndefined();
  });

  it.each([
    ['an amount that differs from the items', { amount: 29_801 }, /differs/],
    ['a zero amount', { amount: 0, items: [] }, /positive/],
    ['a fractional amount', { amount: 298.5 }, /positive integer/],
    ['no items', { items: [] }, /at least one item/],
    ['a window too short', { expiresInSeconds: 30 }, /60 to 86400/],
    ['an unknown currency', { currency: 'XXX' as PaymentRequest['currency'] }, /not supported/],
  ])('refuses %s', (_what, override, message) => {
    expect(businessRuleViolation({ ...request, ...override })).toMatch(message);
  });

  it('names the courses for the cashier, cut to a safe length', () => {
    expect(paymentSubject(request)).toBe('TypeScript 101, Go in practice');
    const many = {
      ...request,
      items: Array.from({ length: 20 }, (_, i) => ({ ...request.items[0]!, title: `Course number ${i}` })),
    };
    expect(paymentSubject(many).length).toBeLessThanOrEqual(120);
  });
});
