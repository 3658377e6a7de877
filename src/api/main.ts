import { ConfigError, loadConfig } from '../config.js';
import { keyringFor } from '../crypto/keyring.js';
import { platformKeysFor } from '../crypto/platform-keys.js';
import { createLogger } from '../logger.js';
import { serveUntilStopped } from '../serve.js';
import { startTracing } from '../telemetry/tracing.js';
import { assembleApi } from './assemble.js';

/** The API process: stateless; run as many as needed behind a load balancer. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'api');
  const tracing = startTracing(config, 'api');
  const { app, close } = await assembleApi({
    config,
    logger,
    keyring: keyringFor(config, 'api'),
    platformKeys: platformKeysFor(config),
    ...(tracing ? { tracing } : {}),
  });

  const url = await serveUntilStopped({
    app,
    host: config.API_HOST,
    port: config.API_PORT,
    logger,
    name: 'API',
    close: async () => {
      await close();
      await tracing?.shutdown();
    },
  });
  logger.info(
    { url, sandbox: config.SANDBOX_ENABLED, tracing: tracing !== undefined },
    `API listening on ${url}${config.SANDBOX_ENABLED ? ' (sandbox on)' : ''}`,
  );
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError
      ? err.message
      : `API failed to start: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
