import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/**
 * The payment statistics' rollups (domain/stats.ts), one document per day and shard:
 * `_id` `<YYYY-MM-DD>/<shard>`. `cells` holds the counters by `<channel>~<currency>~<status>`;
 * `p` holds what each payment of the day last contributed (by payment id, as JSON), which makes
 * every update a compare-and-set: a retried write finds its contribution already there and adds
 * nothing. Read by `_id` only, the one lookup every MongoDB-wire server answers from an index.
 */
const statsRollupSchema = new Schema(
  {
    _id: { type: String, required: true },
    cells: { type: Schema.Types.Mixed, default: {} },
    p: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: 'stats_rollups', versionKey: false, minimize: false },
);

export type StatsRollupDocument = InferSchemaType<typeof statsRollupSchema>;
export type StatsRollupModel = Model<StatsRollupDocument>;

export function statsRollupModel(connection: Connection): StatsRollupModel {
  return modelOn<StatsRollupModel>(connection, 'StatsRollup', statsRollupSchema);
}
