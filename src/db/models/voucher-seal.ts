import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/** One seal per ledger period (`_id` = the period's ISO start); see src/vouchers/ledger.ts. */
const voucherSealSchema = new Schema(
  {
    _id: { type: String, required: true },
    from: { type: String, required: true },
    to: { type: String, required: true },
    voucherIds: { type: [String], default: [] },
    root: { type: String, required: true },
    previous: { type: String, default: null },
    signature: { type: String, required: true },
    keyId: { type: String, required: true },
    sealedAt: { type: Date, required: true },
  },
  { collection: 'voucher_seals', versionKey: false },
);

export type VoucherSealDocument = InferSchemaType<typeof voucherSealSchema>;
export type VoucherSealModel = Model<VoucherSealDocument>;
export function voucherSealModel(connection: Connection): VoucherSealModel {
  return modelOn<VoucherSealModel>(connection, 'VoucherSeal', voucherSealSchema);
}
