import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/**
 * One document per signed platform request accepted (`_id` = `keyId:nonce`): the unique `_id` is
 * what refuses a replayed request. Removed by the `api-housekeeping` schedule once `expiresAt`
 * has passed, by which time the request's timestamp is outside the tolerance anyway.
 */
const requestNonceSchema = new Schema(
  {
    _id: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'request_nonces', versionKey: false },
);

export type RequestNonceDocument = InferSchemaType<typeof requestNonceSchema>;
export type RequestNonceModel = Model<RequestNonceDocument>;
export function requestNonceModel(connection: Connection): RequestNonceModel {
  return modelOn<RequestNonceModel>(connection, 'RequestNonce', requestNonceSchema);
}
