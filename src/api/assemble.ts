import type { Express } from 'express';
import { createChannelAdapters } from '../channels/index.js';
import type { PlatformKey } from '../crypto/request-signing.js';
import type { Config } from '../config.js';
import type { ApiKeyring } from '../crypto/keyring.js';
import { connectDatabase, type Database } from '../db/connect.js';
import type { Logger } from '../logger.js';
import { connectTemporalClient, type TemporalClient } from '../temporal/client.js';
import { EnvelopeCodec, dataConverterWith } from '../temporal/codec.js';
import type { Tracing } from '../telemetry/tracing.js';
import { createApp } from './app.js';

export interface AssembledApi {
  app: Express;
  database: Database;
  temporal: TemporalClient;
  /** Closes both connections. */
  close: () => Promise<void>;
}

/**
 * Connects what the API needs (MongoDB, Temporal with the history codec) and builds the Express app on them. The API process and the tests both start the API this
 * way; a failed connection says which variable to check.
 */
export async function assembleApi(options: {
  config: Config;
  logger: Logger;
  keyring: ApiKeyring;
  platformKeys: readonly PlatformKey[];
  /** With tracing on (src/telemetry/tracing.ts): request spans and the Temporal client's. */
  tracing?: Tracing;
}): Promise<AssembledApi> {
  const { config, logger, keyring, platformKeys, tracing } = options;
  const database = await connectDatabase(config.MONGODB_URI, { timeoutMs: config.DEPENDENCY_TIMEOUT_MS }).catch(
    (err: unknown) => {
      throw new Error(
        `cannot reach MongoDB (MONGODB_URI): ${(err as Error).message}. Is it running? \`npm start\` provisions one.`,
      );
    },
  );
  const codec = new EnvelopeCodec(keyring.temporalCodec);
  const temporal = await connectTemporalClient(config, dataConverterWith(codec), tracing).catch(
    async (err: unknown) => {
      await database.close();
      throw new Error(
        `cannot reach Temporal at ${config.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS): ${(err as Error).message}. Is it running? \`npm start\` provisions one.`,
      );
    },
  );
  const app = createApp({
    config,
    logger,
    temporal: { name: 'temporal', ...temporal },
    database: { name: 'mongodb', ...database },
    keyring,
    platformKeys,
    channels: createChannelAdapters(config, keyring),
    codec,
    ...(tracing ? { tracer: tracing.tracer } : {}),
  });
  return {
    app,
    database,
    temporal,
    close: async () => {
      await Promise.allSettled([temporal.close(), database.close()]);
    },
  };
}
