import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/**
 * Signed payment vouchers, one per payment (unique `paymentId` and `voucherId`). `payload` is the
 * canonical JSON that `digest` (hex SHA-256) and `signature` (base64) cover.
 */
const voucherSchema = new Schema(
  {
    /** The voucher id as `_id`: the one filter every MongoDB-wire server (FerretDB too) looks up by index. */
    _id: { type: String, required: true },
    voucherId: { type: String, required: true },
    paymentId: { type: String, required: true },
    orderId: { type: String, required: true },
    payload: { type: String, required: true },
    digest: { type: String, required: true },
    signature: { type: String, required: true },
    keyId: { type: String, required: true },
    algorithm: { type: String, required: true },
    status: { type: String, required: true, enum: ['valid', 'void'], default: 'valid' },
    voidReason: { type: String, default: null },
    voidedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'vouchers' },
);
voucherSchema.index({ voucherId: 1 }, { unique: true });
voucherSchema.index({ paymentId: 1 }, { unique: true });
voucherSchema.index({ createdAt: 1 });

export type VoucherDocument = InferSchemaType<typeof voucherSchema>;
export type VoucherModel = Model<VoucherDocument>;
export function voucherModel(connection: Connection): VoucherModel {
  return modelOn<VoucherModel>(connection, 'Voucher', voucherSchema);
}
