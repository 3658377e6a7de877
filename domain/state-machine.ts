import type { PaymentStatus } from './payment.js';

const TRANSITIONS: Record<PaymentStatus, readonly PaymentStatus[]> = {
  processing: ['awaiting_payment', 'succeeded', 'failed', 'refunded', 'manual_review', 'risk_review'],
  // The risk check held the payment for staff: they allow it (routing goes on) or block it; or it
  // expires, or the platform cancels it. No channel order exists yet.
  risk_review: ['processing', 'failed', 'expired', 'canceled'],
  awaiting_payment: ['processing', 'succeeded', 'failed', 'expired', 'canceled', 'manual_review'],
  // Refunds on request: some of the money, then all of it.
  succeeded: ['partially_refunded', 'refunded', 'manual_review'],
  partially_refunded: ['refunded'],
  failed: [],
  expired: ['refunded', 'manual_review'],
  canceled: ['refunded', 'manual_review'],
  refunded: [],
  // Staff asked for the failed compensation to be tried again.
  manual_review: ['processing', 'refunded'],
};

/** Whether a payment may move from `from` to `to`; the one definition of the state machine. */
export function isValidTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
