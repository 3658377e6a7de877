import type { Server } from 'node:http';
import { createChannelAdapters } from '../channels/index.js';
import { ConfigError, loadConfig } from '../config.js';
import { keyringFor } from '../crypto/keyring.js';
import { platformKeysFor } from '../crypto/platform-keys.js';
import { connectDatabase } from '../db/connect.js';
import { createLogger } from '../logger.js';
import { createSandbox } from '../sandbox/index.js';
import { connectTemporalClient } from '../temporal/client.js';
import { EnvelopeCodec } from '../temporal/codec.js';
import { watchParent } from '../parent-watch.js';
import { createApp } from './app.js';

/** The API process: stateless; run as many as needed behind a load balancer. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'api');
  const database = await connectDatabase(config.MONGODB_URI, { timeoutMs: config.DEPENDENCY_TIMEOUT_MS }).catch(
    (err: unknown) => {
      throw new Error(
        `cannot reach MongoDB (MONGODB_URI): ${(err as Error).message}. Is it running? \`npm start\` provisions one.`,
      );
    },
  );
  const keyring = keyringFor(config);
  const codec = new EnvelopeCodec(keyring.temporalCodec);
  const temporal = await connectTemporalClient(config, { payloadCodecs: [codec] }).catch((err: unknown) => {
    throw new Error(
      `cannot reach Temporal at ${config.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS): ${(err as Error).message}. Is it running? \`npm start\` provisions one.`,
    );
  });
  const sandbox = config.SANDBOX_ENABLED
    ? await createSandbox({ connection: database.connection, keyring, config, logger })
    : undefined;
  const app = createApp({
    config,
    logger,
    temporal: { name: 'temporal', ...temporal },
    database: { name: 'mongodb', ...database },
    keyring,
    platformKeys: platformKeysFor(config),
    channels: createChannelAdapters(config, keyring),
    codec,
    ...(sandbox ? { sandbox } : {}),
  });

  const server: Server = app.listen(config.API_PORT, config.API_HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://${config.API_HOST}:${config.API_PORT}`;
  logger.info(
    { url, sandbox: config.SANDBOX_ENABLED },
    `API listening on ${url}${config.SANDBOX_ENABLED ? ' (sandbox on)' : ''}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'API stopping');
    sandbox?.close();
    server.close(() => {
      void Promise.allSettled([temporal.close(), database.close()]).then(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  watchParent(() => stop('parent process gone'));
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError
      ? err.message
      : `API failed to start: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
