import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/**
 * Channel calls counted per channel, operation and minute, shared by every worker: each process
 * adds what it saw (`$inc`) every few seconds. `_id`: `<channel>:<operation>:<minute ISO>`, so a
 * window is a handful of lookups by `_id`. `latency` counts calls per bound of
 * {@link LATENCY_BOUNDS_MS} (the last slot: slower than every bound).
 */
const channelCallsSchema = new Schema(
  {
    _id: { type: String, required: true },
    ok: { type: Number, required: true, default: 0 },
    failed: { type: Number, required: true, default: 0 },
    /** Calls per latency slot: key `i` counts calls no slower than `LATENCY_BOUNDS_MS[i]`. */
    latency: { type: Map, of: Number, default: {} },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'channel_calls', versionKey: false },
);

/** Upper bounds of the latency slots, in milliseconds. */
export const LATENCY_BOUNDS_MS = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000] as const;

/**
 * A circuit breaker of one channel operation, when it is not simply closed: `open` (skipped)
 * since `since`, by the failure rate or by hand (`manual`, with who and why); `half_open` lets
 * the next call through to test the channel. Absent: closed.
 */
const channelBreakerSchema = new Schema(
  {
    /** `<channel>:<operation>`. */
    _id: { type: String, required: true },
    state: { type: String, required: true, enum: ['open', 'half_open', 'closed'] },
    since: { type: Date, required: true },
    manual: { type: Boolean, required: true, default: false },
    reason: { type: String, required: true },
    by: { type: String, default: null },
  },
  { collection: 'channel_breakers', versionKey: false },
);

export type ChannelCallsDocument = InferSchemaType<typeof channelCallsSchema>;
export type ChannelCallsModel = Model<ChannelCallsDocument>;
export function channelCallsModel(connection: Connection): ChannelCallsModel {
  return modelOn<ChannelCallsModel>(connection, 'ChannelCalls', channelCallsSchema);
}

export type ChannelBreakerDocument = InferSchemaType<typeof channelBreakerSchema>;
export type ChannelBreakerModel = Model<ChannelBreakerDocument>;
export function channelBreakerModel(connection: Connection): ChannelBreakerModel {
  return modelOn<ChannelBreakerModel>(connection, 'ChannelBreaker', channelBreakerSchema);
}
