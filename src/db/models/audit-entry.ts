import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';

/** How an audited action reached the system. */
export const AUDIT_VIA = ['api', 'temporal-ui', 'cli', 'dashboard'] as const;

/**
 * The audit trail: one document per staff action, append-only. `before` and `after` are what the
 * action changed, as plain JSON (never secrets such as token hashes). The model refuses updates
 * and deletes, so no code path of the product can rewrite history.
 */
const auditEntrySchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    /** The staff member's name, or the OS user for the command line. */
    operator: { type: String, required: true },
    /** The operator's role when they acted. */
    role: { type: String, required: true },
    action: { type: String, required: true },
    /** What the action was done to, as `kind:id` (`staff:alice`, `payment:pay_...`). */
    target: { type: String, required: true },
    paymentId: { type: String, default: null },
    refundId: { type: String, default: null },
    reason: { type: String, required: true },
    before: { type: Schema.Types.Mixed, default: null },
    after: { type: Schema.Types.Mixed, default: null },
    via: { type: String, required: true, enum: AUDIT_VIA },
  },
  { collection: 'audit_entries', versionKey: false, minimize: false },
);

const REWRITES = [
  'updateOne',
  'updateMany',
  'findOneAndUpdate',
  'replaceOne',
  'findOneAndReplace',
  'deleteOne',
  'deleteMany',
  'findOneAndDelete',
] as const;
auditEntrySchema.pre([...REWRITES], function refuseRewrite() {
  throw new Error('audit entries are append-only: they are never updated or deleted');
});
auditEntrySchema.pre('save', function refuseResave() {
  if (!this.isNew) throw new Error('audit entries are append-only: they are never updated or deleted');
});

export type AuditEntryDocument = InferSchemaType<typeof auditEntrySchema>;
export type AuditEntryModel = Model<AuditEntryDocument>;
export function auditEntryModel(connection: Connection): AuditEntryModel {
  return modelOn<AuditEntryModel>(connection, 'AuditEntry', auditEntrySchema);
}
