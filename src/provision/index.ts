import { provisionMongo, type ProvisionedMongo } from './mongo.js';
import { say } from './processes.js';
import type { ProvisionSettings } from './settings.js';
import { provisionTemporal, type ProvisionedTemporal } from './temporal.js';

export interface ProvisionedServers {
  temporal: ProvisionedTemporal;
  mongo: ProvisionedMongo;
  /** Stops the servers this run started; servers it reused are left running. */
  stop(): Promise<void>;
}

/**
 * Provisions Temporal and MongoDB side by side (a cold FerretDB build overlaps the Temporal
 * start). The test profile's servers start from empty data (a reused server keeps its own).
 */
export async function provisionServers(settings: ProvisionSettings): Promise<ProvisionedServers> {
  say(`profile ${settings.profile}: data in ${settings.dataDir}, cache in ${settings.cacheDir}`);
  const [temporal, mongo] = await Promise.allSettled([provisionTemporal(settings), provisionMongo(settings)]);
  if (temporal.status === 'rejected' || mongo.status === 'rejected') {
    await Promise.allSettled(
      [temporal, mongo].map((r) => (r.status === 'fulfilled' ? r.value.stop() : Promise.resolve())),
    );
    throw temporal.status === 'rejected' ? temporal.reason : (mongo as PromiseRejectedResult).reason;
  }
  return {
    temporal: temporal.value,
    mongo: mongo.value,
    async stop() {
      await Promise.allSettled([temporal.value.stop(), mongo.value.stop()]);
    },
  };
}
