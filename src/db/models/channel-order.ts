import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';
import { PAYMENT_CHANNELS } from '../../../domain/payment.js';

/** One order per payment and channel (`out_trade_no` = payment id); unique, so never two. */
const channelOrderSchema = new Schema(
  {
    /** `<paymentId>:<channel>`, the business key as `_id` (see {@link channelOrderKey}). */
    _id: { type: String, required: true },
    paymentId: { type: String, required: true },
    channel: { type: String, required: true, enum: PAYMENT_CHANNELS },
    amount: { type: Number, required: true, validate: Number.isSafeInteger },
    currency: { type: String, required: true },
    payUrl: { type: String, required: true },
    merchantId: { type: String, required: true },
    /** Last state we know: `open`, `paid`, `closed`. */
    state: { type: String, required: true, default: 'open' },
    channelTradeNo: { type: String, default: null },
  },
  { timestamps: true, collection: 'channel_orders' },
);
channelOrderSchema.index({ paymentId: 1, channel: 1 }, { unique: true });

/** The `_id` of a payment's order at a channel: the one filter every MongoDB-wire server indexes. */
export function channelOrderKey(paymentId: string, channel: string): string {
  return `${paymentId}:${channel}`;
}

export type ChannelOrderDocument = InferSchemaType<typeof channelOrderSchema>;
export type ChannelOrderModel = Model<ChannelOrderDocument>;
export function channelOrderModel(connection: Connection): ChannelOrderModel {
  return modelOn<ChannelOrderModel>(connection, 'ChannelOrder', channelOrderSchema);
}
