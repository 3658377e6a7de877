import type { Server } from 'node:http';
import { ConfigError, loadConfig } from '../config.js';
import { keyringFor } from '../crypto/keyring.js';
import { platformKeysFor } from '../crypto/platform-keys.js';
import { createLogger } from '../logger.js';
import { watchParent } from '../parent-watch.js';
import { assembleApi } from './assemble.js';

/** The API process: stateless; run as many as needed behind a load balancer. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'api');
  const { app, close } = await assembleApi({
    config,
    logger,
    keyring: keyringFor(config, 'api'),
    platformKeys: platformKeysFor(config),
  });

  const server: Server = app.listen(config.API_PORT, config.API_HOST);
  // A client that trickles its headers or body is cut off instead of holding a connection.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
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
    server.close(() => {
      void close().finally(() => process.exit(0));
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
