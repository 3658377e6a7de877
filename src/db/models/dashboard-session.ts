import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/**
 * One document per dashboard sign-in (`_id` = hex SHA-256 of the random session id the browser
 * holds in its cookie, so a leaked collection opens no session). A session counts only while
 * `expiresAt` is ahead and its staff member is still active with the token it was started with
 * (`tokenHash`): a revoked or re-issued token ends it. Looked up by `_id` only; removed at
 * sign-out, and by the `api-housekeeping` schedule once expired.
 */
const dashboardSessionSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    staffName: { type: String, required: true },
    /** The staff member's token hash when the session started. */
    tokenHash: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'dashboard_sessions', versionKey: false },
);

export type DashboardSessionDocument = InferSchemaType<typeof dashboardSessionSchema>;
export type DashboardSessionModel = Model<DashboardSessionDocument>;
export function dashboardSessionModel(connection: Connection): DashboardSessionModel {
  return modelOn<DashboardSessionModel>(connection, 'DashboardSession', dashboardSessionSchema);
}
