import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

export const CALLBACK_OUTCOMES = [
  'pending',
  'applied',
  'duplicate',
  'ignored',
  'late_refund',
  'rejected',
  'error',
] as const;

/**
 * Every channel notification received, as received: raw body, the headers that matter, whether
 * it verified, and what it did. One document per delivery (a resend is a new document).
 */
const callbackSchema = new Schema(
  {
    channel: { type: String, required: true },
    receivedAt: { type: Date, required: true },
    rawBody: { type: String, required: true },
    headers: { type: Map, of: String, default: {} },
    verified: { type: Boolean, required: true },
    notificationId: { type: String, default: null },
    outTradeNo: { type: String, default: null },
    tradeState: { type: String, default: null },
    amount: { type: Number, default: null },
    outcome: { type: String, required: true, enum: CALLBACK_OUTCOMES },
    /** Why a callback was rejected or failed, for staff. */
    reason: { type: String, default: null },
  },
  { collection: 'callbacks' },
);
callbackSchema.index({ outTradeNo: 1, receivedAt: 1 });
callbackSchema.index({ channel: 1, notificationId: 1 });

export type CallbackDocument = InferSchemaType<typeof callbackSchema>;
export type CallbackModel = Model<CallbackDocument>;
export function callbackModel(connection: Connection): CallbackModel {
  return modelOn<CallbackModel>(connection, 'Callback', callbackSchema);
}
