import type { Router } from 'express';
import type { PaymentChannel } from '../../../workflows/contracts.js';
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
}

export interface SimulatedPayResult {
  channel: PaymentChannel;
  outTradeNo: string;
  /** The order's state at the channel after the payer acted. */
  tradeState: 'PAID' | 'NOT_PAID';
  channelTradeNo: string | null;
  notificationsSent: number;
}

/**
 * A stand-in for a payment provider that behaves as the real one does: it verifies the merchant's
 * request signature, keeps orders (in MongoDB, so every API process sees the same), serves a
 * cashier page, sends signed notifications on the provider's resend schedule (time-compressed),
 * and answers query, close and refund. Mounted at `/sandbox/<channel>` on the API.
 */
export interface ChannelSimulator {
  readonly channel: PaymentChannel;
  readonly router: Router;
  /** The payer completes (or fails) the payment at the channel. Throws `SandboxNotFoundError` for an unknown order. */
  pay(outTradeNo: string, payment: SimulatedPayment): Promise<SimulatedPayResult>;
  /** Makes the given operations answer like an outage (HTTP 503) until disabled. */
  setOutage(operations: ChannelOperation[], enabled: boolean): Promise<void>;
  /** Whether the channel holds an order with this `out_trade_no`. */
  hasOrder(outTradeNo: string): Promise<boolean>;
  /** Stops pending notification resends (process shutdown, tests). */
  close(): void;
}

export class SandboxNotFoundError extends Error {
  override readonly name = 'SandboxNotFoundError';
}
