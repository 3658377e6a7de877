/**
 * The payment workflow's message contracts: its input, the update that opens a payment, the query
 * that reads it, and the staff Updates. The vocabulary they speak is in domain/.
 */
import type { RiskSubject } from '../domain/risk.js';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ChannelNotificationArgs,
  FxQuote,
  NotificationOutcome,
  PaymentChannel,
  PaymentRequest,
  PaymentView,
} from '../domain/payment.js';

export interface PaymentWorkflowInput {
  /** Stable id derived from the order id; also the channel's `out_trade_no`. */
  paymentId: string;
  request: PaymentRequest;
  /** SHA-256 of the canonical request, so a retried create can be told from a conflicting one. */
  requestFingerprint: string;
  /** ISO-8601 instant the API accepted the request. */
  acceptedAt: string;
  /** The `X-Key-Id` of the platform key that opened the payment; absent on payments opened before it was kept. */
  createdByKeyId?: string;
  /**
   * How long an outside party may keep failing before the payment asks for people
   * (`NeedsAttention`); defaults: the channel 5 minutes, the platform's webhook endpoint 30 minutes.
   */
  attention?: { channelUnreachableAfterMs: number; webhookFailingAfterMs: number };
  /** Whom the risk check looks at (keyed hashes); payments opened before the check have none. */
  risk?: RiskSubject;
  /**
   * How long the payment waits, in all, between routing rounds while every channel that could take
   * it is unavailable (`CHANNEL_OPEN_RETRY_SECONDS`), within its window; absent or 0: one pass.
   */
  openRetryMs?: number;
  /**
   * The quote the API locked at create time when the presentment currency (`request.currency`)
   * differs from the settlement currency; the view, the voucher and every refund use it.
   */
  fx?: FxQuote;
  /** The hosted checkout's signed link (`request.checkout` is not `channel`): the view's `payUrl`. */
  checkoutUrl?: string;
}

/** The learner chose a method on the hosted checkout; sent only by the API, with its seal. */
export interface ChoosePaymentMethodArgs {
  channel: PaymentChannel;
  /** Proof that the API sent it (src/temporal/message-seal.ts). */
  seal?: string;
}

export interface CancelPaymentArgs {
  reason?: string;
}

export interface OpenPaymentArgs {
  requestFingerprint: string;
}

export interface OpenPaymentResult {
  /** True only for the first open request this payment answered. */
  created: boolean;
  payment: PaymentView;
}

/** Waits until the payment can be handed to the learner, then answers with its view. */
export const openPaymentUpdate = defineUpdate<OpenPaymentResult, [OpenPaymentArgs]>('openPayment');
export const getPaymentQuery = defineQuery<PaymentView>('getPayment');
/** A verified channel notification; the validator rejects mismatches without touching history. */
export const channelNotificationUpdate = defineUpdate<NotificationOutcome, [ChannelNotificationArgs]>(
  'channelNotification',
);
/** Closes the channel order and ends the payment `canceled`; rejected once paid. */
export const cancelPaymentUpdate = defineUpdate<PaymentView, [CancelPaymentArgs]>('cancelPayment');
/**
 * The learner chose another method on the hosted checkout: the current channel order is closed at
 * its channel first (paid while closing counts as paid), then the chosen channel's order is opened.
 * Answers the view once the new order exists (or the payment was found paid). Rejected unless the
 * payment awaits payment, the channel can take it, and its order was not closed before.
 */
export const choosePaymentMethodUpdate = defineUpdate<PaymentView, [ChoosePaymentMethodArgs]>('choosePaymentMethod');
/** Support staff: try the failed compensation (refund) of a `manual_review` payment again. */
export const retryCompensationSignal = defineSignal('retryCompensation');

/** Staff actions that move no money (retry a failing step, ask the channel now): no ticket needed. */
export interface StaffNudgeArgs {
  operator: string;
  /** The operator's role, as the staff API authenticated it. */
  role?: string;
  reason: string;
  /** Only for a refunds workflow: which refund; all that wait when omitted. */
  refundId?: string;
  /** Set by the staff API (the operator is authenticated); absent from the Web UI's form. */
  seal?: string;
}

/** Staff: try a failing step again now (a refund that could not be made). Moves no money by itself. */
export const retryNowUpdate = defineUpdate<string, [StaffNudgeArgs]>('retryNow');
/** Staff: ask the channel now instead of waiting for its notification or the next query. */
export const requeryChannelUpdate = defineUpdate<string, [StaffNudgeArgs]>('requeryChannel');
/** Staff: let a payment the risk check held go on to a channel. */
export const allowPaymentUpdate = defineUpdate<string, [StaffNudgeArgs]>('allowPayment');
/** Staff: refuse a payment the risk check held; it fails with `risk_blocked`. */
export const blockPaymentUpdate = defineUpdate<string, [StaffNudgeArgs]>('blockPayment');
