import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';
import { REFUND_STATUSES } from '../../../domain/refunds.js';

/**
 * Refunds, one document per refund id (`out_request_no` / `out_refund_no`); unique, so never twice.
 * Refunds on request are written by their payment's refunds workflow; refunds the saga makes to
 * compensate (`pending` while in flight) by the payment workflow. `metadata` is the platform's,
 * encrypted at rest.
 */
const refundSchema = new Schema(
  {
    /** The refund id as `_id`: the one filter every MongoDB-wire server (FerretDB too) looks up by index. */
    _id: { type: String, required: true },
    refundId: { type: String, required: true },
    paymentId: { type: String, required: true },
    channel: { type: String, required: true },
    amount: { type: Number, required: true, validate: Number.isSafeInteger },
    currency: { type: String, required: true },
    reason: { type: String, required: true },
    status: { type: String, required: true, enum: ['pending', ...REFUND_STATUSES] },
    channelRefundId: { type: String, default: null },
    failureReason: { type: String, default: null },
    requestedAt: { type: Date, default: null },
    decidedAt: { type: Date, default: null },
    completedAt: { type: Date, default: null },
    requestedBy: { type: Schema.Types.Mixed, default: null },
    reviewReason: { type: String, default: null },
    decision: { type: Schema.Types.Mixed, default: null },
    metadata: { type: String, default: null },
    /** The items the refund names, with how much of each goes back. */
    items: { type: [new Schema({ courseId: String, amount: Number }, { _id: false })], default: undefined },
    /** The refund's share in the settlement currency at the payment's locked quote (cross-border payments). */
    settlementAmount: { type: Number, default: null },
  },
  { timestamps: true, collection: 'refunds' },
);
refundSchema.index({ refundId: 1 }, { unique: true });
refundSchema.index({ paymentId: 1 });

export type RefundDocument = InferSchemaType<typeof refundSchema>;
export type RefundModel = Model<RefundDocument>;
export function refundModel(connection: Connection): RefundModel {
  return modelOn<RefundModel>(connection, 'Refund', refundSchema);
}
