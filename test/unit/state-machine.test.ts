import { describe, expect, it } from 'vitest';
import { PAYMENT_STATUSES } from '../../domain/payment.js';
import { isValidTransition } from '../../domain/state-machine.js';

describe('payment state machine', () => {
  it('opens a payment, then lets it be paid, expire, fail or be canceled', () => {
    expect(isValidTransition('processing', 'awaiting_payment')).toBe(true);
    for (const next of ['succeeded', 'expired', 'failed', 'canceled'] as const) {
      expect(isValidTransition('awaiting_payment', next)).toBe(true);
    }
  });

  it('never leaves failed or refunded', () => {
    for (const next of PAYMENT_STATUSES) {
      expect(isValidTransition('failed', next)).toBe(false);
      expect(isValidTransition('refunded', next)).toBe(false);
    }
  });

  it('refunds a success that arrives after an expiry or cancel', () => {
    expect(isValidTransition('expired', 'refunded')).toBe(true);
    expect(isValidTransition('canceled', 'refunded')).toBe(true);
    expect(isValidTransition('expired', 'succeeded')).toBe(false);
  });

  it('leaves manual_review open: staff retry the compensation, which ends refunded', () => {
    expect(isValidTransition('manual_review', 'processing')).toBe(true);
    expect(isValidTransition('manual_review', 'refunded')).toBe(true);
    expect(isValidTransition('manual_review', 'succeeded')).toBe(false);
  });
});
