import { provisionMongo, type ProvisionedMongo } from './mongo.js';
import { makePrivateTree, makePrivateTreeIfPresent } from './private-files.js';
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
 * The data folder and the keys folder are made private first (folders 0700, files 0600, data
 * written by earlier runs included); the servers then create their files private themselves.
 */
export async function provisionServers(settings: ProvisionSettings): Promise<ProvisionedServers> {
  say(`profile ${settings.profile}: data in ${settings.dataDir}, cache in ${settings.cacheDir}`);
  const refused = [
    ...makePrivateTree(settings.dataDir),
    ...(settings.keysDir ? makePrivateTreeIfPresent(settings.keysDir) : []),
  ];
  say(
    refused.length === 0
      ? 'data and keys folders: readable by their owner only (0700 folders, 0600 files)'
      : `data and keys folders: could not make ${refused.length} entries private (not ours?), e.g. ${refused[0] ?? ''}`,
  );
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
