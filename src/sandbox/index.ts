import type { Connection } from 'mongoose';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Logger } from '../logger.js';
import type { PaymentChannel } from '../../domain/payment.js';
import { createChannelSimulators } from './channels/index.js';
import type { ChannelSimulator } from './channels/types.js';
import { createPlatformStub, type PlatformStub } from './platform.js';

export interface Sandbox {
  simulators: Record<PaymentChannel, ChannelSimulator>;
  platform: PlatformStub;
  close(): void;
}

/** The channel simulators and the platform stub, for development, tests and demos. */
export async function createSandbox(deps: {
  connection: Connection;
  keyring: Keyring;
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'SANDBOX_TIME_SCALE'>;
  logger: Logger;
}): Promise<Sandbox> {
  const simulators = createChannelSimulators({
    connection: deps.connection,
    keyring: deps.keyring,
    publicBaseUrl: deps.config.PUBLIC_BASE_URL,
    timeScale: deps.config.SANDBOX_TIME_SCALE,
    logger: deps.logger,
  });
  const platform = await createPlatformStub(deps.connection, deps.keyring.platformWebhookSecret);
  return {
    simulators,
    platform,
    close: () => Object.values(simulators).forEach((s) => s.close()),
  };
}
