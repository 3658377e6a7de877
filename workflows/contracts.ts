/**
 * The payment workflow's message contracts: its input, the update that opens a payment, the query
 * that reads it, and the status vocabulary. The API imports these; nothing here touches I/O.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Currency } from './money.js';

/**
 * Where a payment is in its life.
 * - `processing`: the system is working on it (opening the channel order, confirming a charge).
 * - `awaiting_payment`: the channel order exists; the learner can pay until `expiresAt`.
 * - `succeeded`: paid, voucher issued, order fulfilled.
 * - `failed`: the channel declined or the payment could not be opened; nothing was charged.
 * - `expired`: the window ended unpaid; the channel order is closed.
 * - `canceled`: the platform canceled it before payment.
 * - `partially_refunded`: paid; some of it went back at the platform's or staff's request.
 * - `refunded`: charged, then refunded in full (for example the platform could not fulfil).
 * - `manual_review`: a compensation could not complete; support staff must act.
 */
export const PAYMENT_STATUSES = [
  'processing',
  'awaiting_payment',
  'succeeded',
  'failed',
  'expired',
  'canceled',
  'partially_refunded',
  'refunded',
  'manual_review',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_CHANNELS = ['alipay', 'wechatpay'] as const;
export type PaymentChannel = (typeof PAYMENT_CHANNELS)[number];

export interface PaymentItem {
  courseId: string;
  title: string;
  /** Price of one unit, integer minor units of the payment's currency. */
  unitAmount: number;
  quantity: number;
}

/** A platform's request to take a payment, as validated by the API. */
export interface PaymentRequest {
  orderId: string;
  customerId: string;
  currency: Currency;
  /** Total, integer minor units; equals the sum of `unitAmount * quantity` over the items. */
  amount: number;
  items: PaymentItem[];
  channel?: PaymentChannel;
  /** Payment window in seconds, 60 to 86400. */
  expiresInSeconds: number;
  description?: string;
}

export interface PaymentWorkflowInput {
  /** Stable id derived from the order id; also the channel's `out_trade_no`. */
  paymentId: string;
  request: PaymentRequest;
  /** SHA-256 of the canonical request, so a retried create can be told from a conflicting one. */
  requestFingerprint: string;
  /** ISO-8601 instant the API accepted the request. */
  acceptedAt: string;
}

/** The channel's view of a trade, normalised across providers. */
export type ChannelTradeState =
  | 'NOT_PAID' // created, not (yet) paid: Alipay WAIT_BUYER_PAY, WeChat NOTPAY/USERPAYING/PAYERROR
  | 'PAID' // Alipay TRADE_SUCCESS/TRADE_FINISHED, WeChat SUCCESS
  | 'CLOSED' // closed unpaid: Alipay TRADE_CLOSED (unpaid), WeChat CLOSED/REVOKED
  | 'REFUNDED' // paid, then refunded: WeChat REFUND, Alipay TRADE_CLOSED after a full refund
  | 'NOT_FOUND'; // the channel has no such order

export interface TimelineEntry {
  at: string;
  event: string;
  detail?: string;
}

/** What platforms and support staff see of a payment. */
export interface PaymentView {
  paymentId: string;
  orderId: string;
  status: PaymentStatus;
  amount: number;
  currency: Currency;
  channel: PaymentChannel | null;
  channelTradeNo: string | null;
  expiresAt: string;
  voucher: VoucherSummary | null;
  refunds: RefundSummary[];
  /** The learner's cashier link while the payment awaits payment. */
  payUrl: string | null;
  /** Why the payment failed or needs review, in words staff can act on. */
  failureReason: string | null;
  timeline: TimelineEntry[];
}

/** A voucher's public part, as platforms and learners see it. */
export interface VoucherSummary {
  voucherId: string;
  digest: string;
}

/**
 * A refund as a payment's view lists it. The saga's own compensation refunds read `pending` while
 * in flight; refunds on request carry their statuses and times (see refund-contracts.ts).
 */
export interface RefundSummary {
  refundId: string;
  amount: number;
  status: 'pending' | 'pending_review' | 'processing' | 'succeeded' | 'failed' | 'rejected';
  reason: string;
  currency?: string;
  requestedAt?: string;
  decidedAt?: string;
  completedAt?: string;
  reviewReason?: string;
  failureReason?: string;
}

/** A channel notification whose signature verified, handed to the payment's workflow. */
export interface ChannelNotificationArgs {
  channel: PaymentChannel;
  notificationId: string;
  outTradeNo: string;
  channelTradeNo: string;
  state: ChannelTradeState;
  amount: number;
  currency: Currency;
  merchantId: string;
  appId: string;
  paidAt?: string;
  /**
   * Proof that the API verified this notification (see src/temporal/message-seal.ts): a message
   * without a valid seal changes nothing, whoever could reach Temporal.
   */
  seal?: string;
}

/**
 * What the workflow did with a notification: `applied` (it moved the payment), `duplicate` (an
 * effect already happened), `ignored` (a state that needs no action), `late_refund` (paid after
 * the payment ended: the money goes back).
 */
export type NotificationOutcome = 'applied' | 'duplicate' | 'ignored' | 'late_refund';

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

/** Error types a workflow raises as `ApplicationFailure.type`; the API maps them to HTTP. */
export const PaymentErrorCode = {
  OrderConflict: 'order_conflict',
  /** A notification's amount, currency, merchant, channel or order differs from the payment. */
  CallbackMismatch: 'callback_mismatch',
  /** Cancel asked of a payment that is paid, or already ended. */
  NotCancelable: 'payment_not_cancelable',
  /** The channel refused the request for a business reason. */
  ChannelRejected: 'channel_rejected',
  /** Every channel that could take the payment was unavailable. */
  ChannelsUnavailable: 'channels_unavailable',
  /** A refund the channel declined for good. */
  RefundFailed: 'refund_failed',
  /** The platform answered a webhook with a refusal (409 or 422). */
  FulfilmentRefused: 'fulfilment_refused',
  PaymentNotFound: 'payment_not_found',
  /** A refund asked of a payment that is not `succeeded` or `partially_refunded`. */
  PaymentNotRefundable: 'payment_not_refundable',
  /** A refund above the payment's refundable balance. */
  RefundExceedsRefundable: 'refund_exceeds_refundable',
  RefundNotFound: 'refund_not_found',
  /** A decision on a refund that is not waiting for one. */
  RefundNotPendingReview: 'refund_not_pending_review',
  /** Nobody approves (or rejects) a refund they requested themselves. */
  FourEyesRequired: 'four_eyes_required',
  /** A staff decision without a valid staff ticket for this operator, action and refund. */
  StaffTicketInvalid: 'staff_ticket_invalid',
  /** A money-moving message that the API did not seal. */
  MessageNotSealed: 'message_not_sealed',
  /** A staff action that does not apply to the payment's present state. */
  NothingToDo: 'nothing_to_do',
} as const;
export type PaymentErrorCode = (typeof PaymentErrorCode)[keyof typeof PaymentErrorCode];

/** Waits until the payment can be handed to the learner, then answers with its view. */
export const openPaymentUpdate = defineUpdate<OpenPaymentResult, [OpenPaymentArgs]>('openPayment');
export const getPaymentQuery = defineQuery<PaymentView>('getPayment');
/** A verified channel notification; the validator rejects mismatches without touching history. */
export const channelNotificationUpdate = defineUpdate<NotificationOutcome, [ChannelNotificationArgs]>(
  'channelNotification',
);
/** Closes the channel order and ends the payment `canceled`; rejected once paid. */
export const cancelPaymentUpdate = defineUpdate<PaymentView, [CancelPaymentArgs]>('cancelPayment');
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
