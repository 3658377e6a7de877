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

/** How much of an unverified body is kept (encrypted), for staff to see what was sent. */
export const REJECTED_BODY_PREFIX_BYTES = 256;

/**
 * Every channel notification received: one document per delivery (a resend is a new document),
 * with the headers that matter, whether it verified, and what it did.
 *
 * A verified notification keeps its whole body, encrypted. One that failed verification came from
 * anyone: it keeps only the body's SHA-256, its length and an encrypted prefix of
 * {@link REJECTED_BODY_PREFIX_BYTES}, and `expiresAt`, after which the `api-housekeeping` schedule
 * removes it (`CALLBACK_REJECTED_RETENTION_DAYS`). Verified ones are never removed.
 */
const callbackSchema = new Schema(
  {
    channel: { type: String, required: true },
    receivedAt: { type: Date, required: true },
    /** The whole body, encrypted; verified notifications only. */
    rawBody: { type: String, default: null },
    /** SHA-256 of the body as received, hex. */
    bodySha256: { type: String, default: null },
    bodyBytes: { type: Number, default: null },
    /** The body's first bytes, encrypted; unverified notifications only. */
    bodyPrefix: { type: String, default: null },
    headers: { type: Map, of: String, default: {} },
    verified: { type: Boolean, required: true },
    notificationId: { type: String, default: null },
    outTradeNo: { type: String, default: null },
    tradeState: { type: String, default: null },
    amount: { type: Number, default: null },
    outcome: { type: String, required: true, enum: CALLBACK_OUTCOMES },
    /** Why a callback was rejected or failed, for staff. The channel is told only that it failed. */
    reason: { type: String, default: null },
    /** When the sweep removes it; unset for verified notifications, which are kept. */
    expiresAt: { type: Date, default: null },
  },
  { collection: 'callbacks' },
);
callbackSchema.index({ outTradeNo: 1, receivedAt: 1 });
callbackSchema.index({ channel: 1, notificationId: 1 });
callbackSchema.index({ expiresAt: 1 });

/**
 * The first delivery of each channel event that was applied, keyed by the event
 * (`<channel>:<notificationId>:<tradeState>`): claimed by an insert, so of concurrent deliveries
 * of one event exactly one is recorded `applied` and the others `duplicate`, with one lookup by
 * `_id` (the one filter every MongoDB-wire server serves from an index) instead of a search of all
 * callbacks.
 */
const appliedCallbackEventSchema = new Schema(
  {
    _id: { type: String, required: true },
    callbackId: { type: Schema.Types.ObjectId, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'applied_callback_events', versionKey: false },
);

export type CallbackDocument = InferSchemaType<typeof callbackSchema>;
export type CallbackModel = Model<CallbackDocument>;
export function callbackModel(connection: Connection): CallbackModel {
  return modelOn<CallbackModel>(connection, 'Callback', callbackSchema);
}

export type AppliedCallbackEventModel = Model<InferSchemaType<typeof appliedCallbackEventSchema>>;
export function appliedCallbackEventModel(connection: Connection): AppliedCallbackEventModel {
  return modelOn<AppliedCallbackEventModel>(connection, 'AppliedCallbackEvent', appliedCallbackEventSchema);
}
