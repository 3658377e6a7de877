import { once } from 'node:events';
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import mongoose, { type Connection } from 'mongoose';
import { inject } from 'vitest';
import { generateKeyring, type CompleteKeyring } from '../../src/crypto/keyring.js';
import { createLogger } from '../../src/logger.js';
import { createChannelSimulators } from '../../src/sandbox/channels/index.js';
import type { ChannelSimulator } from '../../src/sandbox/channels/types.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../domain/payment.js';
import { uniqueId } from './builders.js';
import { withDatabase } from './stack.js';

export interface ChannelSandbox {
  connection: Connection;
  /** Every simulator is mounted at `/sandbox/<channel>`; tests add their own notify routes. */
  app: Express;
  baseUrl: string;
  keyring: CompleteKeyring;
  simulators: Record<PaymentChannel, ChannelSimulator>;
  close(): Promise<void>;
}

/**
 * The channel simulators alone, on a loopback server and a database of their own, with a fresh
 * keyring: for tests that drive an adapter or a provider's SDK against them.
 */
export async function startChannelSandbox(name: string): Promise<ChannelSandbox> {
  const connection = await mongoose
    .createConnection(withDatabase(inject('mongoUri'), `kp_${uniqueId(name).replace(/-/g, '_')}`), {
      autoIndex: false,
      serverSelectionTimeoutMS: 10_000,
    })
    .asPromise();
  const keyring = generateKeyring();
  const app = express();
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const simulators = createChannelSimulators({
    connection,
    keyring,
    publicBaseUrl: baseUrl,
    timeScale: 0.001,
    formSecret: 'f'.repeat(32),
    logger: createLogger({ LOG_LEVEL: 'silent' }, 'test'),
  });
  for (const channel of PAYMENT_CHANNELS) app.use(`/sandbox/${channel}`, simulators[channel].router);
  return {
    connection,
    app,
    baseUrl,
    keyring,
    simulators,
    async close() {
      for (const simulator of Object.values(simulators)) simulator.close();
      server.closeAllConnections();
      server.close();
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    },
  };
}
