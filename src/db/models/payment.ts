import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';
import { CURRENCIES } from '../../../domain/money.js';
import { PAYMENT_CHANNELS, PAYMENT_STATUSES } from '../../../domain/payment.js';

const itemSchema = new Schema(
  {
    courseId: { type: String, required: true },
    title: { type: String, required: true },
    unitAmount: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
    quantity: { type: Number, required: true, min: 1, validate: Number.isSafeInteger },
  },
  { _id: false },
);

/**
 * One entry of a payment's story. `detail` may carry free text from outside (a cancel reason, the
 * platform's or a channel's answer), so it is stored encrypted with the at-rest key
 * (src/crypto/field-cipher.ts); entries written before that are plaintext.
 */
const timelineSchema = new Schema(
  { at: { type: Date, required: true }, event: { type: String, required: true }, detail: String },
  { _id: false },
);

/**
 * The payments read model: one document per payment, written only by the payment's own workflow
 * (through activities), so changes to one payment are serialised by Temporal. Amounts are integer
 * minor units of `currency`. `orderId` and `paymentId` are unique: idempotency rests on them.
 */
const refundEntrySchema = new Schema(
  {
    refundId: { type: String, required: true },
    amount: { type: Number, required: true },
    status: { type: String, required: true },
    reason: { type: String, required: true },
    // Refunds on request carry the rest of their public view (see workflows/refund-contracts.ts).
    currency: String,
    requestedAt: String,
    decidedAt: String,
    completedAt: String,
    requestedBy: Schema.Types.Mixed,
    reviewReason: String,
    decision: Schema.Types.Mixed,
    failureReason: String,
    channelRefundId: String,
  },
  { _id: false },
);

const paymentSchema = new Schema(
  {
    /** The business key as `_id`: the one filter every MongoDB-wire server (FerretDB too) looks up by index. */
    _id: { type: String, required: true },
    paymentId: { type: String, required: true },
    orderId: { type: String, required: true },
    customerId: { type: String, required: true },
    status: { type: String, required: true, enum: PAYMENT_STATUSES },
    currency: { type: String, required: true, enum: CURRENCIES },
    amount: { type: Number, required: true, min: 1, validate: Number.isSafeInteger },
    items: { type: [itemSchema], required: true },
    channel: { type: String, enum: [...PAYMENT_CHANNELS, null], default: null },
    channelTradeNo: { type: String, default: null },
    payUrl: { type: String, default: null },
    /** Why the payment failed or needs people; encrypted like the timeline's details. */
    failureReason: { type: String, default: null },
    voucher: { type: new Schema({ voucherId: String, digest: String }, { _id: false }), default: null },
    refunds: { type: [refundEntrySchema], default: [] },
    /** Minor units refunded so far by refunds on request (compensation refunds end in `refunded`). */
    refundedAmount: { type: Number, default: 0 },
    description: String,
    expiresAt: { type: Date, required: true },
    requestFingerprint: { type: String, required: true },
    /** The `X-Key-Id` of the platform key whose request opened the payment: which backend made it. */
    createdByKeyId: String,
    timeline: { type: [timelineSchema], default: [] },
  },
  { timestamps: true, collection: 'payments' },
);
paymentSchema.index({ paymentId: 1 }, { unique: true });
paymentSchema.index({ orderId: 1 }, { unique: true });
paymentSchema.index({ status: 1, updatedAt: 1 });

export type PaymentDocument = InferSchemaType<typeof paymentSchema>;
export type PaymentModel = Model<PaymentDocument>;

export function paymentModel(connection: Connection): PaymentModel {
  return modelOn<PaymentModel>(connection, 'Payment', paymentSchema);
}
