import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/** One document per attempt to deliver a platform webhook: what was sent and what came back. */
const webhookDeliverySchema = new Schema(
  {
    eventId: { type: String, required: true },
    type: { type: String, required: true },
    paymentId: { type: String, required: true },
    url: { type: String, required: true },
    attempt: { type: Number, required: true },
    /** HTTP status, or null when no answer came (timeout, refused connection). */
    httpStatus: { type: Number, default: null },
    outcome: { type: String, required: true, enum: ['delivered', 'refused', 'failed'] },
    /**
     * The platform's answer to a refused or failed attempt (its first 500 characters), or why no
     * answer came; encrypted with the at-rest key (src/crypto/field-cipher.ts), since the text is
     * the platform's.
     */
    error: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { collection: 'webhook_deliveries' },
);
webhookDeliverySchema.index({ eventId: 1, attempt: 1 });
webhookDeliverySchema.index({ paymentId: 1 });

export type WebhookDeliveryDocument = InferSchemaType<typeof webhookDeliverySchema>;
export type WebhookDeliveryModel = Model<WebhookDeliveryDocument>;
export function webhookDeliveryModel(connection: Connection): WebhookDeliveryModel {
  return modelOn<WebhookDeliveryModel>(connection, 'WebhookDelivery', webhookDeliverySchema);
}
