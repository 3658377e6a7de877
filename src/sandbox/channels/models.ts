import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from '../../db/models/model-on.js';
import { PAYMENT_CHANNELS } from '../../../domain/payment.js';
import { RECONCILIATION_EXCEPTION_KINDS } from '../../../domain/reconciliation.js';

/**
 * The simulated providers' books, shared by every API process through MongoDB. Each decision that
 * must happen once (an order's outcome, a refund) is an insert guarded by a unique index, because
 * conditional updates are not atomic on every MongoDB-wire server this runs on.
 */

const channel = { type: String, required: true, enum: PAYMENT_CHANNELS } as const;
const minorUnits = { type: Number, required: true, min: 0, validate: Number.isSafeInteger } as const;

/** An order as the merchant created it; never changed afterwards. Amounts in minor units. */
const orderSchema = new Schema(
  {
    /** `<channel>:<outTradeNo>`: lookups by `_id` stay fast on every MongoDB-wire server. */
    _id: { type: String, required: true },
    channel,
    outTradeNo: { type: String, required: true },
    appId: { type: String, required: true },
    merchantId: { type: String, required: true },
    subject: { type: String, required: true },
    amount: minorUnits,
    currency: { type: String, required: true },
    /** Where notifications go; empty when the merchant asked for none. */
    notifyUrl: { type: String, default: '' },
    expiresAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
    /** What else the channel finds the order by (UnionPay: the `txnTime` it was sent at); null for none. */
    reference: { type: String, default: null },
  },
  { collection: 'sandbox_channel_orders', versionKey: false },
);
orderSchema.index({ channel: 1, outTradeNo: 1 }, { unique: true });

/**
 * How an order's payment window ended: paid or closed, whichever came first. At most one per
 * order (unique index), so "paid while closing" has exactly one winner.
 */
const outcomeSchema = new Schema(
  {
    /** `<channel>:<outTradeNo>`, like the order's. */
    _id: { type: String, required: true },
    channel,
    outTradeNo: { type: String, required: true },
    state: { type: String, required: true, enum: ['PAID', 'CLOSED'] },
    channelTradeNo: { type: String, default: null },
    buyerId: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { collection: 'sandbox_channel_outcomes', versionKey: false },
);
outcomeSchema.index({ channel: 1, outTradeNo: 1 }, { unique: true });

/**
 * A payer's approval of an order at a channel where the merchant then captures (PayPal): the
 * order stays unpaid until the capture. Keyed like the order; replaced when the payer approves
 * again after a declined capture, removed by that decline.
 */
const approvalSchema = new Schema(
  {
    _id: { type: String, required: true },
    channel,
    outTradeNo: { type: String, required: true },
    payerId: { type: String, required: true },
    at: { type: Date, required: true },
    /** The capture of this approval is declined (the payer's funding fails). */
    declined: { type: Boolean, required: true },
    /** How the capture is notified, as the payer's `pay` asked: copies sent, and a tampered amount. */
    notifications: { type: Number, required: true, min: 0 },
    tamperAmount: { type: Boolean, required: true },
  },
  { collection: 'sandbox_channel_approvals', versionKey: false },
);

export const REFUND_OUTCOMES = ['success', 'abnormal', 'closed'] as const;

/**
 * One refund, keyed by the merchant's `out_request_no` / `out_refund_no`. `seq` numbers an order's
 * refunds 1, 2, ...: unique per order, so two refunds can never both pass the "not more than was
 * paid" check against the same earlier total. Never changed after the insert: the refund is
 * processing until `settlesAt` and has `outcome` from then on (computed when read, so every
 * process agrees without a timer). Refunds recorded before `settlesAt` and `outcome` existed
 * settled at `at` with success.
 */
const refundSchema = new Schema(
  {
    channel,
    outTradeNo: { type: String, required: true },
    outRequestNo: { type: String, required: true },
    seq: { type: Number, required: true, min: 1 },
    channelRefundId: { type: String, required: true },
    amount: minorUnits,
    reason: { type: String, default: '' },
    at: { type: Date, required: true },
    /** When the refund stops processing; `at` for one that settled at once. */
    settlesAt: { type: Date },
    /** How the refund ends at `settlesAt`; `closed` gives the amount back to the refundable balance. */
    outcome: { type: String, enum: REFUND_OUTCOMES },
    /** Where the channel notifies the refund's outcome; empty for none. */
    notifyUrl: { type: String, default: '' },
    /** What else the channel finds the refund by (UnionPay: its `txnTime`); null for none. */
    reference: { type: String, default: null },
  },
  { collection: 'sandbox_channel_refunds', versionKey: false },
);
refundSchema.index({ channel: 1, outRequestNo: 1 }, { unique: true });
refundSchema.index({ channel: 1, outTradeNo: 1, seq: 1 }, { unique: true });

/** An operation of a channel that currently answers like an outage; present = down. */
const faultSchema = new Schema(
  {
    channel,
    operation: { type: String, required: true, enum: ['create', 'query', 'close', 'refund'] },
  },
  { collection: 'sandbox_channel_faults', versionKey: false },
);
faultSchema.index({ channel: 1, operation: 1 }, { unique: true });

/**
 * How later refunds at a channel end (set through the sandbox control API); keyed by channel,
 * absent = the default (asynchronous, success, notified).
 */
const refundBehaviourSchema = new Schema(
  {
    /** The channel. */
    _id: { type: String, required: true, enum: PAYMENT_CHANNELS },
    mode: { type: String, required: true, enum: ['immediate', 'async'] },
    outcome: { type: String, required: true, enum: REFUND_OUTCOMES },
    notify: { type: Boolean, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'sandbox_channel_refund_behaviours', versionKey: false },
);

/**
 * A notification the merchant acknowledged, as the channel counts it (a resend that gets through
 * after an unanswered one counts once). Keyed `<channel>:<outTradeNo>:payment` or
 * `<channel>:<outTradeNo>:refund:<outRequestNo>`; the first acknowledgement is kept.
 */
const notificationSchema = new Schema(
  {
    _id: { type: String, required: true },
    channel,
    outTradeNo: { type: String, required: true },
    kind: { type: String, required: true, enum: ['payment', 'refund'] },
    outRequestNo: { type: String, default: null },
    acknowledgedAt: { type: Date, required: true },
  },
  { collection: 'sandbox_channel_notifications', versionKey: false },
);

/** Each kind of reconciliation exception can be injected. */
export const BILL_DISCREPANCY_KINDS = RECONCILIATION_EXCEPTION_KINDS;

/**
 * A discrepancy injected into a day's bill (fault injection): the bill misreports one paid order
 * (leaves it out, another amount, currency or state). Keyed `<channel>:<outTradeNo>`: one per
 * order, a later one replaces it. (`missing_here` is not kept here: it pays the order in the
 * channel's books instead.)
 */
const billDiscrepancySchema = new Schema(
  {
    _id: { type: String, required: true },
    channel,
    /** `YYYY-MM-DD`: the Beijing day of the bill it changes. */
    date: { type: String, required: true },
    outTradeNo: { type: String, required: true },
    kind: { type: String, required: true, enum: BILL_DISCREPANCY_KINDS },
    /** The amount the bill shows instead (amount_mismatch), minor units. */
    amount: { type: Number, default: null },
    /** The currency the bill shows instead (currency_mismatch). */
    currency: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { collection: 'sandbox_bill_discrepancies', versionKey: false },
);

export type SandboxOrder = InferSchemaType<typeof orderSchema>;
export type SandboxOutcome = InferSchemaType<typeof outcomeSchema>;
export type SandboxRefund = InferSchemaType<typeof refundSchema>;
export type SandboxApproval = InferSchemaType<typeof approvalSchema>;
export type SandboxFault = InferSchemaType<typeof faultSchema>;
export type SandboxRefundBehaviour = InferSchemaType<typeof refundBehaviourSchema>;
export type SandboxNotification = InferSchemaType<typeof notificationSchema>;
export type SandboxBillDiscrepancy = InferSchemaType<typeof billDiscrepancySchema>;

export interface SandboxChannelModels {
  orders: Model<SandboxOrder>;
  outcomes: Model<SandboxOutcome>;
  refunds: Model<SandboxRefund>;
  faults: Model<SandboxFault>;
  refundBehaviours: Model<SandboxRefundBehaviour>;
  notifications: Model<SandboxNotification>;
  approvals: Model<SandboxApproval>;
  billDiscrepancies: Model<SandboxBillDiscrepancy>;
}

/** The sandbox's models on `connection`, with their (unique) indexes created before it resolves. */
export async function sandboxChannelModels(connection: Connection): Promise<SandboxChannelModels> {
  const models: SandboxChannelModels = {
    orders: modelOn<SandboxChannelModels['orders']>(connection, 'SandboxChannelOrder', orderSchema),
    outcomes: modelOn<SandboxChannelModels['outcomes']>(connection, 'SandboxChannelOutcome', outcomeSchema),
    refunds: modelOn<SandboxChannelModels['refunds']>(connection, 'SandboxChannelRefund', refundSchema),
    faults: modelOn<SandboxChannelModels['faults']>(connection, 'SandboxChannelFault', faultSchema),
    refundBehaviours: modelOn<SandboxChannelModels['refundBehaviours']>(
      connection,
      'SandboxChannelRefundBehaviour',
      refundBehaviourSchema,
    ),
    notifications: modelOn<SandboxChannelModels['notifications']>(
      connection,
      'SandboxChannelNotification',
      notificationSchema,
    ),
    approvals: modelOn<SandboxChannelModels['approvals']>(connection, 'SandboxChannelApproval', approvalSchema),
    billDiscrepancies: modelOn<SandboxChannelModels['billDiscrepancies']>(
      connection,
      'SandboxBillDiscrepancy',
      billDiscrepancySchema,
    ),
  };
  await Promise.all([
    models.orders.createIndexes(),
    models.outcomes.createIndexes(),
    models.refunds.createIndexes(),
    models.faults.createIndexes(),
  ]);
  return models;
}

/** The `_id` of an acknowledged notification's record. */
export function notificationKey(
  channel: string,
  outTradeNo: string,
  kind: 'payment' | 'refund',
  outRequestNo: string | null,
): string {
  return kind === 'payment' ? `${channel}:${outTradeNo}:payment` : `${channel}:${outTradeNo}:refund:${outRequestNo}`;
}
