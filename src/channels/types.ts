/**
 * The one contract between the payment saga and a payment channel (Alipay, WeChat Pay, ...).
 * Adapters speak the provider's own wire format (see ../shared/PROTOCOLS.md) and convert money
 * only at this edge: everything here is integer minor units plus an ISO-4217 currency.
 */
import type { Currency } from '../../domain/money.js';
import type { ChannelNotificationArgs, ChannelTradeState, PaymentChannel } from '../../domain/payment.js';
import type { ChannelBill } from '../../domain/reconciliation.js';

export type ChannelOperation = 'create' | 'query' | 'close' | 'refund';

export interface CreateChannelOrderRequest {
  /** Our payment id, sent as `out_trade_no`: the channel's idempotency key for the order. */
  paymentId: string;
  amount: number;
  currency: Currency;
  /** Shown to the payer at the cashier (course titles). */
  subject: string;
  /** ISO-8601 instant after which the channel must refuse to take the payment. */
  expiresAt: string;
  /** Where the channel posts its asynchronous notifications. */
  notifyUrl: string;
  /** The order's reference, for channels that name one ({@link ChannelAdapter.newReference}). */
  reference?: string;
}

export interface ChannelOrder {
  channel: PaymentChannel;
  /** The learner pays here (the provider's cashier page). */
  payUrl: string;
  /** The merchant id the channel will echo in notifications (`seller_id` / `mchid`). */
  merchantId: string;
  /**
   * The channel's own name for the order, for adapters that keep references
   * ({@link ChannelAdapter.keepsReferences}) and learn it only from the channel (a card processor's
   * PaymentIntent id): the caller keeps it and passes it back.
   */
  reference?: string;
  /**
   * The channel had already paid or closed this order (a re-run of the workflow, e.g. after staff
   * reset it): the saga asks the channel for the outcome instead of waiting for a payment.
   */
  decided?: boolean;
}

export type { ChannelTradeState };

export interface ChannelTrade {
  state: ChannelTradeState;
  /** Channel's own trade number (`trade_no` / `transaction_id`), once paid. */
  channelTradeNo?: string;
  /** Amount the channel says was (or is to be) paid, minor units. */
  amount?: number;
  currency?: Currency;
  /** ISO-8601. */
  paidAt?: string;
  /** Why a capture did not take the money, in the channel's words (PayPal `INSTRUMENT_DECLINED`). */
  declineReason?: string;
}

export type CloseResult = 'CLOSED' | 'ALREADY_PAID' | 'NOT_FOUND';

export interface RefundRequest {
  paymentId: string;
  /** Our refund id, sent as `out_request_no` / `out_refund_no`; reused on every retry. */
  refundId: string;
  amount: number;
  /** The original payment's amount (WeChat requires it). */
  totalAmount: number;
  currency: Currency;
  reason: string;
  /** Where the channel posts the refund's notification, where it sends one (WeChat Pay `notify_url`). */
  notifyUrl?: string;
  /** For channels that name references: the paid order's and this refund's (UnionPay: their `txnTime`). */
  orderReference?: string;
  refundReference?: string;
}

export interface RefundOutcome {
  status: 'SUCCEEDED' | 'PROCESSING' | 'FAILED';
  channelRefundId?: string;
  /** Why a refund failed, in the channel's words. */
  reason?: string;
}

/**
 * A notification whose signature verified, decoded and normalised: exactly what the payment's
 * workflow receives (`notificationId` is stable across resends of the same event).
 */
export type ChannelNotification = ChannelNotificationArgs;

export interface RawCallback {
  /** Exact bytes as received: signatures are over these. */
  body: Buffer;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
}

/**
 * A verified refund notification (WeChat Pay `REFUND.SUCCESS | REFUND.ABNORMAL | REFUND.CLOSED`),
 * normalised. `notificationId` is stable across resends of the same event.
 */
export interface ChannelRefundNotification {
  channel: PaymentChannel;
  notificationId: string;
  /** The payment id (`out_trade_no`). */
  outTradeNo: string;
  /** Our refund id (`out_refund_no` / `out_request_no`). */
  refundId: string;
  channelRefundId?: string;
  /**
   * `SUCCEEDED`: the money went back. `FAILED`: final refusal (WeChat `CLOSED`). `PROCESSING`: not
   * final (WeChat `ABNORMAL`: the refund can be retried to another account).
   */
  status: RefundOutcome['status'];
  /** The refund's amount, minor units. */
  amount: number;
  currency: Currency;
  merchantId: string;
  /** The channel's words for a refund that is not (yet) done, e.g. `ABNORMAL`. */
  reason?: string;
}

export type VerificationResult =
  | { ok: true; kind: 'payment'; notification: ChannelNotification }
  | { ok: true; kind: 'refund'; refund: ChannelRefundNotification }
  | { ok: false; reason: string; /** out_trade_no if it could be read, for the record */ outTradeNo?: string };

/** What the HTTP layer answers the channel: exactly the provider's ack format. */
export interface ChannelAck {
  status: number;
  contentType: string;
  body: string;
}

/** A channel failed in a way worth retrying or failing over (5xx, timeout, connection refused). */
export class ChannelUnavailableError extends Error {
  override readonly name = 'ChannelUnavailableError';
}

/** The channel refused the request for a business reason (4xx, error code); retrying will not help. */
export class ChannelRejectedError extends Error {
  override readonly name = 'ChannelRejectedError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface ChannelAdapter {
  readonly channel: PaymentChannel;
  /** Routing rule: can this channel take this currency and amount at all? */
  supports(currency: Currency, amount: number): boolean;
  /**
   * Whether the channel takes `currency` only by converting it (Alipay's cross-border mode: the
   * payer pays yuan for a dollar price). Routing puts channels that take a currency as it is first.
   */
  convertsCurrency?(currency: Currency): boolean;
  /**
   * Channels that find a transaction by more than our id (UnionPay: by `orderId` and the
   * `txnTime` it was sent at) name a reference for each order and refund, made once at `at` and
   * kept by the caller: passed to the create or refund call and back to every later call about
   * it. Channels without it take no references.
   */
  newReference?(at: Date): string;
  /**
   * Whether the adapter needs its references passed back: those it names up front
   * ({@link newReference}) and those the channel answers (`ChannelOrder.reference`, and a refund's
   * `channelRefundId`). Without them it answers NOT_FOUND and PROCESSING.
   */
  readonly keepsReferences?: boolean;
  createOrder(request: CreateChannelOrderRequest): Promise<ChannelOrder>;
  /** `reference`: the order's, for channels that name one; without it such a channel answers NOT_FOUND. */
  queryOrder(paymentId: string, reference?: string): Promise<ChannelTrade>;
  /**
   * Channels where the payer approves and the merchant then takes the money (PayPal): captures an
   * `APPROVED` order, idempotent per payment. Answers the trade after it: `PAID` once captured,
   * `NOT_PAID` (with `declineReason`) when the capture was declined and the payer may approve
   * again. `attempt` counts the captures asked after declined ones: each is a new request at the
   * channel, so a declined one is not answered again. Channels that take the money when the payer
   * pays have none.
   */
  captureOrder?(paymentId: string, reference?: string, attempt?: number): Promise<ChannelTrade>;
  closeOrder(paymentId: string, reference?: string): Promise<CloseResult>;
  refund(request: RefundRequest): Promise<RefundOutcome>;
  queryRefund(paymentId: string, refundId: string, reference?: string): Promise<RefundOutcome>;
  /**
   * Verifies on the raw bytes, fails closed, looks keys up by id/serial. Never throws (nor
   * rejects). Asynchronous where the channel's key must be fetched (PayPal's certificate URL).
   */
  verifyNotification(raw: RawCallback): VerificationResult | Promise<VerificationResult>;
  /**
   * The channel's bill of trades for a Beijing day `YYYY-MM-DD`, downloaded, checked (hash,
   * summary) and parsed from the channel's own format; today's holds the day so far where the
   * channel serves it. Throws `ChannelRejectedError` `bill_not_ready` when the channel has none yet,
   * `ChannelUnavailableError` when it cannot be reached. Channels without bills have none.
   */
  downloadBill?(date: string): Promise<ChannelBill>;
  /**
   * Whether the daily bill carries payments in `currency`; absent: every currency. Alipay's domestic
   * bill carries yuan only (its cross-border trades are in a settlement file of their own), so a
   * run leaves those payments out instead of reporting each as missing at the channel.
   */
  billCarries?(currency: Currency): boolean;
  /** A refund's number in the channel's bill, where it is not our refund id (UnionPay: the refund's `orderId`). */
  billRefundNoOf?(refundId: string): string;
  ackSuccess(): ChannelAck;
  /**
   * The channel's failure answer, so that it sends the notification again: the same answer for
   * every `reason` (the caller may be anyone, and the reason would tell a forger what to fix). The
   * reason is for the caller's own records.
   */
  ackFailure(reason: string): ChannelAck;
}

/** An adapter that verifies notifications with keys it holds, so without waiting. */
export type LocallyVerifyingAdapter = Omit<ChannelAdapter, 'verifyNotification'> & {
  verifyNotification(raw: RawCallback): VerificationResult;
};

/**
 * The merchant's private key, for signing a request to a channel. Only the worker calls the
 * channels; the API holds no merchant private key, so a signing path reached there is a bug.
 */
export function merchantSigningKey(privateKey: string | undefined): string {
  if (privateKey === undefined) {
    throw new Error('this process holds no merchant private key: only the worker signs requests to the channels');
  }
  return privateKey;
}
