/**
 * The refunds workflow's message contracts. One refunds workflow per payment (workflow id
 * `<paymentId>-refunds`) holds the payment's refund ledger, so every request for the same payment is
 * decided one at a time against one balance, whichever API or worker process carries it.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Currency } from '../domain/money.js';
import type { PaymentChannel, RefundItem } from '../domain/payment.js';
import type { RefundLedgerView, RefundPolicy, RefundRequester, RefundView } from '../domain/refunds.js';

/** How often an asynchronous refund is asked about at the channel, when no notification comes. */
export interface RefundSettlementTiming {
  /** Waits between channel queries, in milliseconds; the last repeats. */
  queryScheduleMs: number[];
}

export interface RefundsWorkflowInput {
  paymentId: string;
  timing: RefundSettlementTiming;
  /** How long the workflow stays open with nothing left to do, in milliseconds. */
  idleMs: number;
}

/** A refund request; `seal` proves it came from the API (see src/temporal/message-seal.ts). */
export interface RequestRefundArgs {
  /** Stable per platform request (its Idempotency-Key): a retried request returns the same refund. */
  requestKey?: string;
  amount: number;
  reason: string;
  metadata?: Record<string, string>;
  /** The items the refund names; their amounts add up to `amount`. */
  items?: RefundItem[];
  requestedBy: RefundRequester;
  policy: RefundPolicy;
  /** ISO-8601, set by the API. */
  requestedAt: string;
  seal: string;
}

/**
 * A staff decision on a refund. `ticket` is a short-lived staff ticket from the staff API that
 * names the operator: the one typed in `operator` must match it.
 */
export interface RefundDecisionArgs {
  refundId: string;
  operator: string;
  reason: string;
  ticket: string;
}

/** A verified refund notification from a channel, sealed by the API that verified it. */
export interface RefundNotificationArgs {
  channel: PaymentChannel;
  notificationId: string;
  refundId: string;
  status: 'SUCCEEDED' | 'PROCESSING' | 'FAILED';
  amount: number;
  currency: Currency;
  channelRefundId?: string;
  reason?: string;
  seal: string;
}

export const requestRefundUpdate = defineUpdate<RefundView, [RequestRefundArgs]>('requestRefund');
export const approveRefundUpdate = defineUpdate<RefundView, [RefundDecisionArgs]>('approveRefund');
export const rejectRefundUpdate = defineUpdate<RefundView, [RefundDecisionArgs]>('rejectRefund');
export const refundNotificationUpdate = defineUpdate<'applied' | 'duplicate' | 'ignored', [RefundNotificationArgs]>(
  'refundNotification',
);
export const getRefundLedgerQuery = defineQuery<RefundLedgerView>('getRefundLedger');

/** The refunds workflow of a payment. */
export function refundsWorkflowId(paymentId: string): string {
  return `${paymentId}-refunds`;
}
