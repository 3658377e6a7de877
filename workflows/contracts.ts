/**
 * The payment workflow's message contracts: its input, the update that opens a payment, the query
 * that reads it, and the status vocabulary. The API imports these; nothing here touches I/O.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Currency } from './money.js';

/**
 * Where a payment is in its life.
 * - `processing`: the system is working on it (opening the channel order, confirming a charge).
 * - `awaiting_payment`: the channel order exists; the learner can pay until `expiresAt`.
 * - `succeeded`: paid, voucher issued, order fulfilled.
 * - `failed`: the channel declined or the payment could not be opened; nothing was charged.
 * - `expired`: the window ended unpaid; the channel order is closed.
 * - `canceled`: the platform canceled it before payment.
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
  voucher: { voucherId: string; digest: string } | null;
  refunds: { refundId: string; amount: number; status: string }[];
  timeline: TimelineEntry[];
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
} as const;
export type PaymentErrorCode = (typeof PaymentErrorCode)[keyof typeof PaymentErrorCode];

/** Waits until the payment can be handed to the learner, then answers with its view. */
export const openPaymentUpdate = defineUpdate<OpenPaymentResult, [OpenPaymentArgs]>('openPayment');
export const getPaymentQuery = defineQuery<PaymentView>('getPayment');
