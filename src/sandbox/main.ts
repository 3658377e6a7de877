import { ConfigError, loadConfig } from '../config.js';
import { keyringFor } from '../crypto/keyring.js';
import { createLogger } from '../logger.js';
import { serveUntilStopped } from '../serve.js';
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
  const url = await serveUntilStopped({
    app,
    host: config.SANDBOX_HOST,
    port: config.SANDBOX_PORT,
    logger,
    name: 'sandbox',
    close,
  });
  logger.info({ url }, `Sandbox listening on ${url}`);
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError
      ? err.message
      : `sandbox failed to start: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
