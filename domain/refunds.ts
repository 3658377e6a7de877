/**
 * The refund vocabulary: statuses, the refund view, the review policy and the balance arithmetic
 * every side computes the same way.
 */
import type { Currency } from './money.js';
import type { PaymentStatus, RefundItem } from './payment.js';

/**
 * Where a refund is.
 * - `pending_review`: waits for a finance decision (large, late, or requested by staff).
 * - `processing`: sent to the channel (or about to be); waits for the channel to confirm.
 * - `succeeded`: the channel returned the money.
 * - `failed`: the channel declined it for good; its share of the balance is released.
 * - `rejected`: a reviewer said no; its share of the balance is released.
 */
export const REFUND_STATUSES = ['pending_review', 'processing', 'succeeded', 'failed', 'rejected'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Refund statuses that hold a share of the refundable balance. */
export const BALANCE_HOLDING_REFUND_STATUSES: readonly RefundStatus[] = ['pending_review', 'processing', 'succeeded'];

export type RefundRequester = { kind: 'platform' } | { kind: 'staff'; operator: string; role: string };

export interface RefundDecision {
  operator: string;
  role: string;
  reason: string;
  via: 'api' | 'temporal-ui';
}

/** A refund as the platform and staff see it. Amounts are integer minor units of `currency`. */
export interface RefundView {
  refundId: string;
  paymentId: string;
  amount: number;
  currency: Currency;
  status: RefundStatus;
  reason: string;
  metadata?: Record<string, string>;
  /** ISO-8601 instants. */
  requestedAt: string;
  decidedAt?: string;
  completedAt?: string;
  requestedBy: RefundRequester;
  /** Why the refund waits (or waited) for a finance decision. */
  reviewReason?: string;
  decision?: RefundDecision;
  /** Why the refund failed, or why it is not done yet, in words staff can act on. */
  failureReason?: string;
  channelRefundId?: string;
  /** The items the refund names, with how much of each goes back; absent for a refund of the order as a whole. */
  items?: RefundItem[];
  /**
   * For a cross-border payment: the refund's share in the settlement currency at the payment's
   * locked quote (the learner gets `amount` of `currency` back, the presentment currency).
   */
  settlementAmount?: number;
}

/** The review policy in force when a refund is requested (from the API's configuration). */
export interface RefundPolicy {
  /** A refund above this many minor units waits for review. */
  reviewAboveAmount: number;
  /** A refund requested more than this many days after the payment succeeded waits for review. */
  reviewAfterDays: number;
}

/** What the refunds workflow knows of its payment. */
export interface RefundLedgerView {
  paymentId: string;
  orderId: string;
  paymentStatus: PaymentStatus;
  currency: Currency;
  capturedAmount: number;
  refundedAmount: number;
  refundableAmount: number;
  refunds: RefundView[];
}

/**
 * Why a refund naming `items` cannot be made: an item the order does not have, or more of an item
 * than the learner paid for it (`paidByCourse`, from domain/pricing.ts `linePaidAmounts`) less what
 * earlier refunds that hold a share of the balance already took of it. `undefined` when it can.
 */
export function itemRefundViolation(
  paidByCourse: ReadonlyMap<string, number>,
  earlier: readonly Pick<RefundView, 'status' | 'items'>[],
  items: readonly RefundItem[],
): string | undefined {
  for (const item of items) {
    const paid = paidByCourse.get(item.courseId);
    if (paid === undefined) return `item ${item.courseId} is not in this order`;
    const taken = earlier
      .filter((refund) => BALANCE_HOLDING_REFUND_STATUSES.includes(refund.status))
      .flatMap((refund) => refund.items ?? [])
      .filter((earlierItem) => earlierItem.courseId === item.courseId)
      .reduce((sum, earlierItem) => sum + earlierItem.amount, 0);
    const asked = items.filter((other) => other.courseId === item.courseId).reduce((sum, i) => sum + i.amount, 0);
    if (taken + asked > paid) {
      return `item ${item.courseId}: ${asked} is more than what is left of the ${paid} paid for it (${paid - taken})`;
    }
  }
  return undefined;
}

/** Sum of the refunds that hold a share of the balance (or have been paid out). */
export function heldAmount(refunds: readonly Pick<RefundView, 'amount' | 'status'>[]): number {
  return refunds.reduce((sum, r) => sum + (BALANCE_HOLDING_REFUND_STATUSES.includes(r.status) ? r.amount : 0), 0);
}

export function refundedAmount(refunds: readonly Pick<RefundView, 'amount' | 'status'>[]): number {
  return refunds.reduce((sum, r) => sum + (r.status === 'succeeded' ? r.amount : 0), 0);
}

/** The payment's status once its refunds are counted: unchanged until money went back. */
export function statusAfterRefunds(captured: number, refunded: number, current: PaymentStatus): PaymentStatus {
  if (refunded <= 0) return current;
  return refunded >= captured ? 'refunded' : 'partially_refunded';
}
