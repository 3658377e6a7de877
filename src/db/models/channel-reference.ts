import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { isDuplicateKeyError } from '../errors.js';
import { modelOn } from './model-on.js';

/**
 * The references channels find transactions by besides our ids (UnionPay: the `txnTime` an order
 * or a refund was sent at; see `ChannelAdapter.newReference`). Reserved once, before the first
 * call that creates the transaction, so every retry and every later query sends the same one;
 * never changed. `_id`: `<channel>:order:<paymentId>` or `<channel>:refund:<refundId>`.
 */
const channelReferenceSchema = new Schema(
  {
    _id: { type: String, required: true },
    reference: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'channel_references', versionKey: false },
);

export type ChannelReferenceDocument = InferSchemaType<typeof channelReferenceSchema>;
export type ChannelReferenceModel = Model<ChannelReferenceDocument>;
export function channelReferenceModel(connection: Connection): ChannelReferenceModel {
  return modelOn<ChannelReferenceModel>(connection, 'ChannelReference', channelReferenceSchema);
}

export type ChannelReferenceKind = 'order' | 'refund';

export function channelReferenceKey(channel: string, kind: ChannelReferenceKind, id: string): string {
  return `${channel}:${kind}:${id}`;
}

/** The reference kept under `key`, reserving `fresh` when there is none yet (the first caller wins). */
export async function reserveChannelReference(
  model: ChannelReferenceModel,
  key: string,
  fresh: string,
): Promise<string> {
  try {
    await model.create({ _id: key, reference: fresh, createdAt: new Date() });
    return fresh;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  const kept = await model.findOne({ _id: key }, { reference: 1 }).lean();
  if (!kept) throw new Error(`channel reference ${key} vanished`);
  return kept.reference;
}

/** The reference kept under `key`, if one was reserved. */
export async function keptChannelReference(model: ChannelReferenceModel, key: string): Promise<string | undefined> {
  const kept = await model.findOne({ _id: key }, { reference: 1 }).lean();
  return kept?.reference;
}
