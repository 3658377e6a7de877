import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/**
 * The first answer to a POST carrying an `Idempotency-Key` (`_id` = `keyId:idempotencyKey`),
 * replayed to retries for 24 h. `requestHash` tells a retry from a different request under the
 * same key; `state` is `in_flight` while the first request runs (`lockedUntil` frees it if that
 * process died). The stored body is encrypted at rest like any personal data.
 */
const idempotencyRecordSchema = new Schema(
  {
    _id: { type: String, required: true },
    requestHash: { type: String, required: true },
    /** Which holder may settle the record: a request that lost the key cannot overwrite it. */
    lockId: { type: String, required: true },
    state: { type: String, required: true, enum: ['in_flight', 'done'] },
    lockedUntil: { type: Date, required: true },
    status: { type: Number, default: null },
    body: { type: String, default: null },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'idempotency_records', versionKey: false },
);

export type IdempotencyRecordDocument = InferSchemaType<typeof idempotencyRecordSchema>;
export type IdempotencyRecordModel = Model<IdempotencyRecordDocument>;
export function idempotencyRecordModel(connection: Connection): IdempotencyRecordModel {
  return modelOn<IdempotencyRecordModel>(connection, 'IdempotencyRecord', idempotencyRecordSchema);
}
