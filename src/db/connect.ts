import mongoose, { type Connection } from 'mongoose';
import { withTimeout } from '../with-timeout.js';
import { paymentModel, type PaymentModel } from './models/payment.js';

export interface Models {
  payments: PaymentModel;
}

export interface Database {
  connection: Connection;
  models: Models;
  /** Resolves when MongoDB answers a ping within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the process's one mongoose connection and makes sure every model's indexes exist
 * (the unique ones carry idempotency, so the process must not serve before they do).
 */
export async function connectDatabase(uri: string, options: { timeoutMs: number }): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: options.timeoutMs,
    autoIndex: false,
    autoCreate: true,
  });
  await connection.asPromise();
  const models: Models = { payments: paymentModel(connection) };
  await models.payments.createIndexes();
  return {
    connection,
    models,
    async ping(timeoutMs) {
      const db = connection.db;
      if (!db || connection.readyState !== mongoose.ConnectionStates.connected) {
        throw new Error('MongoDB connection is not open');
      }
      await withTimeout(db.command({ ping: 1 }), timeoutMs, 'MongoDB ping');
    },
    close: () => connection.close(),
  };
}
