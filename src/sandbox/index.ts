import type { Connection } from 'mongoose';
import { SANDBOX_IN_PRODUCTION_CONSENT, type Config } from '../config.js';
import type { SandboxKeyring } from '../crypto/keyring.js';
import type { Logger } from '../logger.js';
import type { PaymentChannel } from '../../domain/payment.js';
import { createChannelSimulators } from './channels/index.js';
import type { ChannelSimulator } from './channels/types.js';
import { sandboxControlTokenFor } from './control-token.js';
import { createPlatformStub, type PlatformStub } from './platform.js';

export interface Sandbox {
  simulators: Record<PaymentChannel, ChannelSimulator>;
  platform: PlatformStub;
  /** The bearer token the control API (`/sandbox/v1`) takes. */
  controlToken: string;
  close(): void;
}

/**
 * The channel simulators and the platform stub, for development, tests and demos. With
 * `NODE_ENV=production` (allowed only by `SANDBOX_IN_PRODUCTION`) it says so at error level on
 * every start: anyone who reaches the API can then pay any payment.
 */
export async function createSandbox(deps: {
  connection: Connection;
  keyring: SandboxKeyring;
  config: Pick<
    Config,
    | 'PUBLIC_BASE_URL'
    | 'SANDBOX_TIME_SCALE'
    | 'SANDBOX_CONTROL_TOKEN'
    | 'SANDBOX_IN_PRODUCTION'
    | 'NODE_ENV'
    | 'KEYS_DIR'
    | 'PAYPAL_API_URL'
  >;
  logger: Logger;
}): Promise<Sandbox> {
  const { config, logger } = deps;
  if (config.SANDBOX_IN_PRODUCTION) {
    logger.error(
      { SANDBOX_IN_PRODUCTION: SANDBOX_IN_PRODUCTION_CONSENT },
      'THE SANDBOX IS ON IN PRODUCTION: anyone who reaches this API can pay any payment at the simulated channels. ' +
        'Never take real orders here; set SANDBOX_ENABLED=false for real channels.',
    );
  }
  const controlToken = sandboxControlTokenFor(config);
  const simulators = createChannelSimulators({
    connection: deps.connection,
    keyring: deps.keyring,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    ...(config.PAYPAL_API_URL === undefined ? {} : { paypalApiUrl: config.PAYPAL_API_URL }),
    timeScale: config.SANDBOX_TIME_SCALE,
    formSecret: controlToken,
    logger,
  });
  const platform = await createPlatformStub(deps.connection, deps.keyring.platformWebhookSecret);
  return {
    simulators,
    platform,
    controlToken,
    close: () => Object.values(simulators).forEach((s) => s.close()),
  };
}
