import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/**
 * Requests counted for one caller in one fixed one-minute window (`_id` = `scope:caller:window`),
 * shared by every API process. Removed by the `api-housekeeping` schedule after `expiresAt`.
 */
const rateLimitWindowSchema = new Schema(
  {
    _id: { type: String, required: true },
    count: { type: Number, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'rate_limit_windows', versionKey: false },
);

export type RateLimitWindowDocument = InferSchemaType<typeof rateLimitWindowSchema>;
export type RateLimitWindowModel = Model<RateLimitWindowDocument>;
export function rateLimitWindowModel(connection: Connection): RateLimitWindowModel {
  return modelOn<RateLimitWindowModel>(connection, 'RateLimitWindow', rateLimitWindowSchema);
}
