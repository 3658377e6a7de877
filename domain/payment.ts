/**
 * The payment vocabulary the whole product shares: statuses, channels, the platform's request,
 * the view platforms and staff read, and the verified channel notice. Pure types and constants:
 * the API, the channels, the read model, the activities and the workflows all import it.
 */
import type { FxQuote } from './fx.js';
import type { Currency } from './money.js';
import type { Discount } from './pricing.js';

export type { Discount, FxQuote };

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

/** What a line of an order sells: a single lesson, a course, a bundle of courses, a membership, a consultation. */
export const ITEM_KINDS = ['lesson', 'course', 'bundle', 'membership', 'consultation'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

export interface PaymentItem {
  courseId: string;
  title: string;
  /** What the line sells; payments made before kinds were kept have none (read them as `course`). */
  kind?: ItemKind;
  /** Price of one unit, integer minor units of the payment's currency. */
  unitAmount: number;
  quantity: number;
  /** Reductions of this line, applied before the order's own discounts (domain/pricing.ts). */
  discounts?: Discount[];
}

/**
 * Where `payUrl` sends the learner: `hosted`, the product's own checkout (`/checkout/:paymentId`,
 * every method that can take the payment, a QR code, the result and the receipt); `channel`, the
 * routed channel's own page.
 */
export const CHECKOUT_MODES = ['hosted', 'channel'] as const;
export type CheckoutMode = (typeof CHECKOUT_MODES)[number];

/** A platform's request to take a payment, as validated by the API. */
export interface PaymentRequest {
  orderId: string;
  customerId: string;
  currency: Currency;
  /**
   * Total, integer minor units of `currency` (the presentment currency: what the learner pays);
   * equals the items after their discounts less the order's discounts (domain/pricing.ts).
   */
  amount: number;
  items: PaymentItem[];
  /** Reductions of the whole order, after the items' own. */
  discounts?: Discount[];
  channel?: PaymentChannel;
  /** `hosted` (the default) or `channel`: see {@link CheckoutMode}. */
  checkout?: CheckoutMode;
  /** Where the checkout's result page links back to; its origin is one the platform configured. */
  returnUrl?: string;
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

/**
 * One try of the learner at a channel, and how it ended:
 * - `declined`: the channel refused the try (a card declined, a PayPal capture denied); nothing was
 *   charged and the payment stays payable until its window ends;
 * - `closed`: the learner chose another method, and this channel's order was closed;
 * - `succeeded`: the charge.
 */
export interface PaymentAttempt {
  /** 1, 2, ... in the order the attempts ended. */
  attempt: number;
  channel: PaymentChannel;
  outcome: 'declined' | 'closed' | 'succeeded';
  at: string;
  /** The channel's words for a decline (`card_declined`, `INSTRUMENT_DECLINED`). */
  reason?: string;
}

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
  /**
   * The learner's link while the payment awaits payment: the hosted checkout, or the channel's own
   * page when the platform asked for it (`checkout: "channel"`).
   */
  payUrl: string | null;
  /** The locked exchange quote when the presentment and settlement currencies differ; otherwise null. */
  fx: FxQuote | null;
  /** The learner's tries that ended: declines, closed orders, the charge. */
  attempts: PaymentAttempt[];
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
  /** The refund's share in the settlement currency at the payment's locked quote (cross-border payments only). */
  settlementAmount?: number;
  /** The items the refund names, with how much of each it returns. */
  items?: RefundItem[];
  status: 'pending' | 'pending_review' | 'processing' | 'succeeded' | 'failed' | 'rejected';
  reason: string;
  currency?: string;
  requestedAt?: string;
  decidedAt?: string;
  completedAt?: string;
  reviewReason?: string;
  failureReason?: string;
}

/** Part of a refund that names an item: how much of that item's paid price goes back. */
export interface RefundItem {
  courseId: string;
  amount: number;
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
  /** Why the channel declined the learner's try, for a `NOT_PAID` notice of a decline (a card's `payment_failed`). */
  declineReason?: string;
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
