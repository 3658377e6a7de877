import type { BillBook } from './bills.js';
import type { Router } from 'express';
import type { PaymentChannel } from '../../../domain/payment.js';
import type { ChannelOperation } from '../../channels/types.js';

/** What the payer does at the channel's cashier, and what the channel then sends. */
export interface SimulatedPayment {
  outcome: 'success' | 'declined';
  /** How many times the channel sends its notification: 0 = lost, more = duplicates sent concurrently. */
  notifications: number;
  /** The notification carries a different amount than the one paid. */
  tamperAmount: boolean;
  /**
   * The payment was already in flight when the merchant closed the order, and the channel
   * completes it anyway: a closed (or expired) order turns paid and is notified late.
   */
  afterClose?: boolean;
  /**
   * Fault injection: from this payment on, the channel's order query reports an amount one yuan
   * more than the order's (a channel answering with wrong figures). Kept by this process only.
   */
  tamperQueryAmount?: boolean;
}

export interface SimulatedPayResult {
  channel: PaymentChannel;
  outTradeNo: string;
  /**
   * The order's state at the channel after the payer acted; `APPROVED` at channels where the
   * merchant captures (PayPal): the payment completes when the merchant captures it.
   */
  tradeState: 'PAID' | 'APPROVED' | 'NOT_PAID';
  channelTradeNo: string | null;
  notificationsSent: number;
}

/**
 * How later refunds at a simulated channel end, as the channel's refund API and query show them.
 * - `mode`: `async` (the default) answers a refund as processing (WeChat Pay `PROCESSING`, Alipay
 *   `fund_change: N` and a refund query without `refund_status`) until it settles after the
 *   channel's delay, scaled by the sandbox time scale; `immediate` settles it in the answer.
 * - `outcome`: `success` (the default) refunds the money; `abnormal` leaves a WeChat Pay refund
 *   `ABNORMAL` (money held, not final; at Alipay the query never shows `REFUND_SUCCESS`);
 *   `closed` ends it `CLOSED` (at Alipay: never `REFUND_SUCCESS`) without refunding, and the
 *   trade's refundable balance is released.
 * - `notify`: whether the outcome is notified to the refund's `notify_url` (WeChat Pay);
 *   `false` simulates a lost notification. Defaults to true.
 */
export interface RefundBehaviour {
  mode: 'immediate' | 'async';
  outcome: 'success' | 'abnormal' | 'closed';
  notify: boolean;
}

export const DEFAULT_REFUND_BEHAVIOUR: Readonly<RefundBehaviour> = { mode: 'async', outcome: 'success', notify: true };

/**
 * A stand-in for a payment provider that behaves as the real one does: it verifies the merchant's
 * request signature, keeps orders (in MongoDB, so every API process sees the same), serves a
 * cashier page, sends signed notifications on the provider's resend schedule (time-compressed),
 * and answers query, close and refund (asynchronous by default, see {@link RefundBehaviour}).
 * Mounted at `/sandbox/<channel>` on the API.
 */
export interface ChannelSimulator {
  readonly channel: PaymentChannel;
  readonly router: Router;
  /** The payer completes (or fails) the payment at the channel. Throws `SandboxNotFoundError` for an unknown order. */
  pay(outTradeNo: string, payment: SimulatedPayment): Promise<SimulatedPayResult>;
  /** Makes the given operations answer like an outage (HTTP 503) until disabled. `refund` covers the refund query. */
  setOutage(operations: ChannelOperation[], enabled: boolean): Promise<void>;
  /** Chooses how refunds requested from now on end (kept in MongoDB: every process sees it); answers it. */
  setRefundBehaviour(behaviour: RefundBehaviour): Promise<RefundBehaviour>;
  /** How refunds requested now end. */
  refundBehaviour(): Promise<RefundBehaviour>;
  /** Fault injection into the channel's books or a day's bill (see {@link BillBook.inject}). */
  injectBillDiscrepancy: BillBook['inject'];
  /** Whether the channel holds an order with this `out_trade_no`. */
  hasOrder(outTradeNo: string): Promise<boolean>;
  /** The channel's books for one order (what it holds, not what the merchant says); undefined when it holds none. */
  books(outTradeNo: string): Promise<ChannelBooks | undefined>;
  /**
   * Fault injection, kept by this process only: while an operation is held, the channel takes its
   * requests but answers none (a channel that hangs), for at most {@link MAX_HOLD_MS}; once the
   * hold is lifted each is handled as usual, whether its caller still waits or not. Answers the
   * holds as they now stand.
   */
  hold(operations: ChannelOperation[], enabled: boolean): ChannelHolds;
  /** The operations held now, and how many requests wait on them. */
  holds(): ChannelHolds;
  /**
   * Fault injection, kept by this process only: the next `count` refund requests are handled as
   * usual (a refund made, or a retry answered) but their answers are lost: the connection drops
   * before the answer is sent, as when a call times out after the channel acted. 0 stops it.
   */
  loseRefundAnswers(count: number): void;
  /** Stops pending notification resends and lets held requests go (process shutdown, tests). */
  close(): void;
}

/** Longest a held request waits before the channel handles it anyway, in milliseconds. */
export const MAX_HOLD_MS = 120_000;

/** What a channel holds: the operations whose requests wait, and how many requests wait now. */
export interface ChannelHolds {
  operations: ChannelOperation[];
  waiting: number;
}

/**
 * What a simulated channel holds about one order. Amounts in minor units of `currency`:
 * `captured` is the order's amount once paid (0 otherwise), `refunded` the sum of its refunds that
 * have succeeded.
 */
export interface ChannelBooks {
  channel: PaymentChannel;
  outTradeNo: string;
  amount: number;
  currency: string;
  createdAt: string;
  state: 'NOT_PAID' | 'PAID' | 'CLOSED';
  channelTradeNo: string | null;
  endedAt: string | null;
  captured: number;
  refunded: number;
  refunds: {
    outRequestNo: string;
    amount: number;
    state: 'PROCESSING' | 'SUCCEEDED' | 'ABNORMAL' | 'CLOSED';
    at: string;
  }[];
  /** The notifications the merchant acknowledged: the payment's, and each refund's (by `outRequestNo`). */
  notifications: { kind: 'payment' | 'refund'; outRequestNo: string | null; acknowledgedAt: string }[];
}

export class SandboxNotFoundError extends Error {
  override readonly name = 'SandboxNotFoundError';
}
