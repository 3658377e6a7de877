/** The events the product sends platforms, signed (see src/webhooks/signature.ts) and retried. */
export const WEBHOOK_EVENT_TYPES = [
  'payment.succeeded',
  'payment.failed',
  'payment.expired',
  'payment.canceled',
  'payment.refunded',
  'payment.attempt_failed',
  'refund.succeeded',
  'refund.failed',
  'refund.rejected',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  /**
   * Stable per payment (or refund) and type, so the platform can drop duplicates:
   * `evt_<paymentId>_<type>`, `evt_<paymentId>_attempt_failed_<attempt>` for each declined try,
   * or `evt_<refundId>_<outcome>` for `refund.*`.
   */
  id: string;
  type: WebhookEventType;
  /** ISO-8601, set by the workflow so every retry sends the same body. */
  createdAt: string;
  data: Record<string, unknown>;
}
