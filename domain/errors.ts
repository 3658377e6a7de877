/**
 * Error codes the product answers with: workflows raise them as `ApplicationFailure.type`, the
 * API maps them to HTTP statuses and puts them in the error body's `code`.
 */
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
  /** A message to a workflow that is not one object (or was not encrypted with the codec). */
  MessageMalformed: 'message_malformed',
  /** A staff action that does not apply to the payment's present state. */
  NothingToDo: 'nothing_to_do',
  /** The risk check refused the payment before any channel order was opened. */
  RiskBlocked: 'risk_blocked',
  /**
   * A method the learner chose on the checkout cannot take the payment now: the payment no longer
   * awaits payment, the method's order was closed before, or the channel refused to open it.
   */
  MethodUnavailable: 'method_unavailable',
} as const;
export type PaymentErrorCode = (typeof PaymentErrorCode)[keyof typeof PaymentErrorCode];
