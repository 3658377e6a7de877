import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';
import { PAYMENT_CHANNELS } from '../../../domain/payment.js';
import {
  RECONCILIATION_EXCEPTION_KINDS,
  RECONCILIATION_STATUSES,
  RESOLUTION_ACTIONS,
} from '../../../domain/reconciliation.js';

const totals = new Schema(
  { count: { type: Number, required: true }, amounts: { type: [{ currency: String, amount: Number }], default: [] } },
  { _id: false },
);

/**
 * One reconciliation run of a channel's day: `_id` is the run's workflow id (`reconciliationId`).
 * Written by the run's activity; `status` is `running` until the bill was matched.
 */
const reconciliationSchema = new Schema(
  {
    _id: { type: String, required: true },
    channel: { type: String, required: true, enum: PAYMENT_CHANNELS },
    /** `YYYY-MM-DD`, the channel's (Beijing) day. */
    date: { type: String, required: true },
    status: { type: String, required: true, enum: RECONCILIATION_STATUSES },
    /** `schedule` or the staff id that asked for it. */
    requestedBy: { type: String, required: true },
    startedAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
    /** Why the run failed (no bill yet, the bill did not check out, ...); null otherwise. */
    error: { type: String, default: null },
    billLines: { type: Number, default: 0 },
    matched: {
      type: new Schema({ payments: totals, refunds: totals }, { _id: false }),
      default: null,
    },
    exceptionCount: { type: Number, default: 0 },
  },
  { collection: 'reconciliations', versionKey: false },
);

const side = new Schema({ status: String, amount: Number, currency: String }, { _id: false });

/**
 * One difference a run found between the channel's bill and the system. `_id` is the exception id,
 * `<reconciliationId>.<n>`: a retried run writes the same ids and never duplicates one. Stays after
 * it is resolved, with the resolution.
 */
const reconciliationExceptionSchema = new Schema(
  {
    _id: { type: String, required: true },
    reconciliationId: { type: String, required: true },
    channel: { type: String, required: true, enum: PAYMENT_CHANNELS },
    date: { type: String, required: true },
    kind: { type: String, required: true, enum: RECONCILIATION_EXCEPTION_KINDS },
    transaction: { type: String, required: true, enum: ['payment', 'refund'] },
    paymentId: { type: String, required: true },
    refundId: { type: String, default: null },
    refundNo: { type: String, default: null },
    channelTradeNo: { type: String, default: null },
    here: { type: side, default: null },
    atChannel: { type: side, default: null },
    state: { type: String, required: true, enum: ['open', 'resolved'] },
    actions: { type: [String], enum: RESOLUTION_ACTIONS, default: [] },
    resolution: {
      type: new Schema(
        {
          action: { type: String, enum: RESOLUTION_ACTIONS },
          reason: String,
          by: new Schema({ staffId: String, name: String, role: String }, { _id: false }),
          at: Date,
          /** What the action set going: the refund it opened, the workflow it started. */
          effect: String,
        },
        { _id: false },
      ),
      default: null,
    },
    createdAt: { type: Date, required: true },
  },
  { collection: 'reconciliation_exceptions', versionKey: false },
);

export type ReconciliationDocument = InferSchemaType<typeof reconciliationSchema>;
export type ReconciliationModel = Model<ReconciliationDocument>;
export type ReconciliationExceptionDocument = InferSchemaType<typeof reconciliationExceptionSchema>;
export type ReconciliationExceptionModel = Model<ReconciliationExceptionDocument>;

export function reconciliationModel(connection: Connection): ReconciliationModel {
  return modelOn<ReconciliationModel>(connection, 'Reconciliation', reconciliationSchema);
}

export function reconciliationExceptionModel(connection: Connection): ReconciliationExceptionModel {
  return modelOn<ReconciliationExceptionModel>(connection, 'ReconciliationException', reconciliationExceptionSchema);
}
