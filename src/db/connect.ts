import mongoose, { type Connection } from 'mongoose';
import { withTimeout } from '../with-timeout.js';
import {
  appliedCallbackEventModel,
  callbackModel,
  type AppliedCallbackEventModel,
  type CallbackModel,
} from './models/callback.js';
import { channelOrderModel, type ChannelOrderModel } from './models/channel-order.js';
import { channelReferenceModel, type ChannelReferenceModel } from './models/channel-reference.js';
import {
  channelBreakerModel,
  channelCallsModel,
  type ChannelBreakerModel,
  type ChannelCallsModel,
} from './models/channel-health.js';
import { paymentModel, type PaymentModel } from './models/payment.js';
import { refundModel, type RefundModel } from './models/refund.js';
import { voucherModel, type VoucherModel } from './models/voucher.js';
import { voucherSealModel, type VoucherSealModel } from './models/voucher-seal.js';
import { idempotencyRecordModel, type IdempotencyRecordModel } from './models/idempotency-record.js';
import { rateLimitWindowModel, type RateLimitWindowModel } from './models/rate-limit-window.js';
import { requestNonceModel, type RequestNonceModel } from './models/request-nonce.js';
import { webhookDeliveryModel, type WebhookDeliveryModel } from './models/webhook-delivery.js';
import { staffMemberModel, type StaffMemberModel } from './models/staff-member.js';
import { auditEntryModel, type AuditEntryModel } from './models/audit-entry.js';
import { riskModels, type RiskModels } from './models/risk.js';
import { statsRollupModel, type StatsRollupModel } from './models/stats.js';
import { dashboardSessionModel, type DashboardSessionModel } from './models/dashboard-session.js';
import {
  reconciliationExceptionModel,
  reconciliationModel,
  type ReconciliationExceptionModel,
  type ReconciliationModel,
} from './models/reconciliation.js';

/** The read model: every collection the API and the activities use. */
export interface Models {
  payments: PaymentModel;
  channelOrders: ChannelOrderModel;
  channelReferences: ChannelReferenceModel;
  channelCalls: ChannelCallsModel;
  channelBreakers: ChannelBreakerModel;
  callbacks: CallbackModel;
  appliedCallbackEvents: AppliedCallbackEventModel;
  vouchers: VoucherModel;
  voucherSeals: VoucherSealModel;
  refunds: RefundModel;
  webhookDeliveries: WebhookDeliveryModel;
  requestNonces: RequestNonceModel;
  idempotencyRecords: IdempotencyRecordModel;
  rateLimitWindows: RateLimitWindowModel;
  staffMembers: StaffMemberModel;
  auditEntries: AuditEntryModel;
  risk: RiskModels;
  statsRollups: StatsRollupModel;
  dashboardSessions: DashboardSessionModel;
  reconciliations: ReconciliationModel;
  reconciliationExceptions: ReconciliationExceptionModel;
}

export function createModels(connection: Connection): Models {
  return {
    payments: paymentModel(connection),
    channelOrders: channelOrderModel(connection),
    channelReferences: channelReferenceModel(connection),
    channelCalls: channelCallsModel(connection),
    channelBreakers: channelBreakerModel(connection),
    callbacks: callbackModel(connection),
    appliedCallbackEvents: appliedCallbackEventModel(connection),
    vouchers: voucherModel(connection),
    voucherSeals: voucherSealModel(connection),
    refunds: refundModel(connection),
    webhookDeliveries: webhookDeliveryModel(connection),
    requestNonces: requestNonceModel(connection),
    idempotencyRecords: idempotencyRecordModel(connection),
    rateLimitWindows: rateLimitWindowModel(connection),
    staffMembers: staffMemberModel(connection),
    auditEntries: auditEntryModel(connection),
    risk: riskModels(connection),
    statsRollups: statsRollupModel(connection),
    dashboardSessions: dashboardSessionModel(connection),
    reconciliations: reconciliationModel(connection),
    reconciliationExceptions: reconciliationExceptionModel(connection),
  };
}

export interface Database {
  connection: Connection;
  models: Models;
  /** Resolves when MongoDB answers a ping within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A mongoose connection with a readiness ping, and nothing of the payment system's models. */
export type Connected = Omit<Database, 'models'>;

/** Opens one mongoose connection to `uri` (no models, no indexes): the sandbox's and ours start here. */
export async function openConnection(uri: string, options: { timeoutMs: number }): Promise<Connected> {
  const connection = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: options.timeoutMs,
    autoIndex: false,
    autoCreate: true,
  });
  await connection.asPromise();
  return {
    connection,
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

/**
 * Opens the process's one mongoose connection and makes sure every model's indexes exist
 * (the unique ones carry idempotency, so the process must not serve before they do).
 */
export async function connectDatabase(uri: string, options: { timeoutMs: number }): Promise<Database> {
  const connected = await openConnection(uri, options);
  const models = createModels(connected.connection);
  await Promise.all([
    models.payments.createIndexes(),
    models.channelOrders.createIndexes(),
    models.callbacks.createIndexes(),
    models.vouchers.createIndexes(),
    models.refunds.createIndexes(),
    models.webhookDeliveries.createIndexes(),
  ]);
  return { ...connected, models };
}
