import type { Server } from 'node:http';
import { ConfigError, loadConfig } from '../config.js';
import { keyringFor } from '../crypto/keyring.js';
import { createLogger } from '../logger.js';
import { watchParent } from '../parent-watch.js';
import { assembleSandbox } from './server.js';

/**
 * The sandbox process: simulated channels and the platform stub, with a database of their own.
 * It plays the outside world, so it shares nothing with the API and worker processes but the
 * network: their books witness what the payment system did.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'sandbox');
  if (!config.SANDBOX_ENABLED) {
    throw new Error('the sandbox is off (SANDBOX_ENABLED=false): there is nothing for this process to run.');
  }
  const { app, close } = await assembleSandbox({ config, logger, keyring: keyringFor(config, 'sandbox') });
  const server: Server = app.listen(config.SANDBOX_PORT, config.SANDBOX_HOST);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://${config.SANDBOX_HOST}:${config.SANDBOX_PORT}`;
  logger.info({ url }, `Sandbox listening on ${url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'sandbox stopping');
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
      : `sandbox failed to start: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
