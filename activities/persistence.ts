import type { Models } from '../src/db/connect.js';
import type { PaymentRequest, PaymentStatus, TimelineEntry } from '../workflows/contracts.js';

export interface PaymentRecord {
  paymentId: string;
  request: PaymentRequest;
  requestFingerprint: string;
  status: PaymentStatus;
  expiresAt: string;
  timeline: TimelineEntry[];
}

/**
 * Activities that keep the MongoDB read model in step with the workflow. Each write is an
 * idempotent upsert keyed by `paymentId`: a retried activity, or a replayed workflow, writes
 * the same document again and never a second one.
 */
export function createPersistenceActivities({ models }: { models: Models }) {
  return {
    async recordPayment(record: PaymentRecord): Promise<void> {
      const { request } = record;
      await models.payments.updateOne(
        { paymentId: record.paymentId },
        {
          $set: {
            status: record.status,
            timeline: record.timeline.map((entry) => ({ ...entry, at: new Date(entry.at) })),
          },
          $setOnInsert: {
            paymentId: record.paymentId,
            orderId: request.orderId,
            customerId: request.customerId,
            currency: request.currency,
            amount: request.amount,
            items: request.items,
            channel: request.channel ?? null,
            description: request.description,
            expiresAt: new Date(record.expiresAt),
            requestFingerprint: record.requestFingerprint,
          },
        },
        { upsert: true, runValidators: true },
      );
    },
  };
}
