import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { RISK_DECISIONS } from '../../../domain/risk.js';
import { modelOn } from './model-on.js';

/**
 * What the risk check keeps (domain/risk.ts). Customers and client addresses appear only as keyed
 * hashes. Every lookup is by `_id`, the one every MongoDB-wire server answers from an index.
 */

/** A payment's risk decision, made once: a retried check answers the first one. `_id`: the payment id. */
const riskAssessmentSchema = new Schema(
  {
    _id: { type: String, required: true },
    decision: { type: String, required: true, enum: RISK_DECISIONS },
    reasons: { type: [String], default: [] },
    at: { type: Date, required: true },
  },
  { collection: 'risk_assessments', versionKey: false },
);

/**
 * Payments started per subject and time bucket, counted with `$inc`:
 * `_id` `<customer|address>:<hash>:<currency>:<bucket start, epoch minutes>`.
 */
const riskCounterSchema = new Schema(
  {
    _id: { type: String, required: true },
    count: { type: Number, required: true, default: 0 },
    amount: { type: Number, required: true, default: 0 },
  },
  { collection: 'risk_counters', versionKey: false },
);

/** A customer's latest payments (newest last, at most 20), for their usual amount and failures in a row. */
const riskCustomerSchema = new Schema(
  {
    _id: { type: String, required: true },
    recent: { type: [{ _id: false, paymentId: String, currency: String, amount: Number, at: Date }], default: [] },
    version: { type: Number, required: true },
  },
  { collection: 'risk_customers', versionKey: false },
);

export type RiskAssessmentDocument = InferSchemaType<typeof riskAssessmentSchema>;
export type RiskCounterDocument = InferSchemaType<typeof riskCounterSchema>;
export type RiskCustomerDocument = InferSchemaType<typeof riskCustomerSchema>;
export type RiskModels = {
  assessments: Model<RiskAssessmentDocument>;
  counters: Model<RiskCounterDocument>;
  customers: Model<RiskCustomerDocument>;
};

export function riskModels(connection: Connection): RiskModels {
  return {
    assessments: modelOn<RiskModels['assessments']>(connection, 'RiskAssessment', riskAssessmentSchema),
    counters: modelOn<RiskModels['counters']>(connection, 'RiskCounter', riskCounterSchema),
    customers: modelOn<RiskModels['customers']>(connection, 'RiskCustomer', riskCustomerSchema),
  };
}
