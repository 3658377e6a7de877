import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes support staff filter and sort on in the Temporal Web UI. They are stored
 * unencrypted, so they carry no personal data: the order id, status, channel, amount and currency,
 * and whether (and why) the payment waits on people or on a failing outside party.
 */
export const PaymentStatusKey = defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD);
export const PaymentChannelKey = defineSearchAttributeKey('PaymentChannel', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
/** The payment's amount in minor units of `PaymentCurrency`. */
export const PaymentAmountKey = defineSearchAttributeKey('PaymentAmount', SearchAttributeType.INT);
export const PaymentCurrencyKey = defineSearchAttributeKey('PaymentCurrency', SearchAttributeType.KEYWORD);
/** True while the payment (or one of its refunds) waits on people or on a failing outside party. */
export const NeedsAttentionKey = defineSearchAttributeKey('NeedsAttention', SearchAttributeType.BOOL);
/** Why it needs attention; one of {@link STUCK_REASONS}. Empty when it does not. */
export const StuckReasonKey = defineSearchAttributeKey('StuckReason', SearchAttributeType.KEYWORD);

/**
 * - `refund_review`: a refund waits for a finance decision.
 * - `refund_failing`: a refund could not be made, or the channel has not confirmed it for long.
 * - `channel_unreachable`: the channel did not answer a query or close for long.
 * - `webhook_failing`: the platform has not accepted a webhook for long.
 * - `amount_mismatch`: the channel reports another amount than the payment's.
 * - `compensation_failed`: a refund the saga owed could not be made (`manual_review`).
 * - `risk_review`: the risk check held the payment for staff to allow or block.
 */
export const STUCK_REASONS = [
  'refund_review',
  'refund_failing',
  'channel_unreachable',
  'webhook_failing',
  'amount_mismatch',
  'compensation_failed',
  'risk_review',
] as const;
export type StuckReason = (typeof STUCK_REASONS)[number];

/** Every attribute the project uses, for registration on the server at start. */
export const PAYMENT_SEARCH_ATTRIBUTES = [
  PaymentStatusKey,
  PaymentChannelKey,
  OrderIdKey,
  PaymentAmountKey,
  PaymentCurrencyKey,
  NeedsAttentionKey,
  StuckReasonKey,
] as const;
