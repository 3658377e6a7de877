/**
 * The payment vocabulary the whole product shares: statuses, channels, the platform's request,
 * the view platforms and staff read, and the verified channel notice. Pure types and constants:
 * the API, the channels, the read model, the activities and the workflows all import it.
 */
import type { Currency } from './money.js';

/**
 * Where a payment is in its life.
 * - `processing`: the system is working on it (opening the channel order, confirming a charge).
 * - `awaiting_payment`: the channel order exists; the learner can pay until `expiresAt`.
 * - `succeeded`: paid, voucher issued, order fulfilled.
 * - `failed`: the payment could not be opened (no channel took it, or the request broke a rule); nothing was charged. A declined attempt at the channel leaves the payment awaiting payment.
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
  'risk_review',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_CHANNELS = ['alipay', 'wechatpay', 'unionpay', 'card', 'paypal'] as const;
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
  /**
   * The learner's IP address as the platform saw it, for the risk check's velocity per address.
   * Only its keyed hash is kept: the API takes it out of the request before anything is stored.
   */
  clientIp?: string;
}

/** The channel's view of a trade, normalised across providers. */
export type ChannelTradeState =
  | 'NOT_PAID' // created, not (yet) paid: Alipay WAIT_BUYER_PAY, WeChat NOTPAY/USERPAYING/PAYERROR
  | 'APPROVED' // the payer approved; no money moves until the merchant captures: PayPal APPROVED
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
