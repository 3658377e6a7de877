import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';
import { CURRENCIES } from '../../../domain/money.js';
import {
  ITEM_KINDS,
  PAYMENT_CHANNELS,
  PAYMENT_STATUSES,
  type FxQuote,
  type PaymentAttempt,
} from '../../../domain/payment.js';

const discountSchema = new Schema(
  {
    code: String,
    description: { type: String, required: true },
    amount: { type: Number, required: true, min: 1, validate: Number.isSafeInteger },
  },
  { _id: false },
);

const itemSchema = new Schema(
  {
    courseId: { type: String, required: true },
    title: { type: String, required: true },
    kind: { type: String, enum: ITEM_KINDS },
    unitAmount: { type: Number, required: true, min: 0, validate: Number.isSafeInteger },
    quantity: { type: Number, required: true, min: 1, validate: Number.isSafeInteger },
    discounts: { type: [discountSchema], default: undefined },
  },
  { _id: false },
);

/** A locked exchange quote (domain/fx.ts). */
const fxSchema = new Schema(
  {
    rate: { type: String, required: true },
    presentmentAmount: { type: Number, required: true },
    presentmentCurrency: { type: String, required: true, enum: CURRENCIES },
    settlementAmount: { type: Number, required: true },
    settlementCurrency: { type: String, required: true, enum: CURRENCIES },
    quotedAt: { type: String, required: true },
    source: { type: String, required: true },
  },
  { _id: false },
);

/** One of the learner's tries that ended (domain/payment.ts `PaymentAttempt`). */
const attemptSchema = new Schema(
  {
    attempt: { type: Number, required: true },
    channel: { type: String, required: true, enum: PAYMENT_CHANNELS },
    outcome: { type: String, required: true },
    at: { type: String, required: true },
    reason: String,
  },
  { _id: false },
);

/**
 * One entry of a payment's story. `detail` may carry free text from outside (a cancel reason, the
 * platform's or a channel's answer), so it is stored encrypted with the at-rest key
 * (src/crypto/field-cipher.ts); entries written before that are plaintext.
 */
const timelineSchema = new Schema(
  { at: { type: Date, required: true }, event: { type: String, required: true }, detail: String },
  { _id: false },
);

/**
 * The payments read model: one document per payment, written only by the payment's own workflow
 * (through activities), so changes to one payment are serialised by Temporal. Amounts are integer
 * minor units of `currency`. `orderId` and `paymentId` are unique: idempotency rests on them.
 */
const refundEntrySchema = new Schema(
  {
    refundId: { type: String, required: true },
    amount: { type: Number, required: true },
    status: { type: String, required: true },
    reason: { type: String, required: true },
    // Refunds on request carry the rest of their public view (see workflows/refund-contracts.ts).
    currency: String,
    requestedAt: String,
    decidedAt: String,
    completedAt: String,
    requestedBy: Schema.Types.Mixed,
    reviewReason: String,
    decision: Schema.Types.Mixed,
    failureReason: String,
    channelRefundId: String,
    settlementAmount: Number,
    items: { type: [new Schema({ courseId: String, amount: Number }, { _id: false })], default: undefined },
  },
  { _id: false },
);

const paymentSchema = new Schema(
  {
    /** The business key as `_id`: the one filter every MongoDB-wire server (FerretDB too) looks up by index. */
    _id: { type: String, required: true },
    paymentId: { type: String, required: true },
    orderId: { type: String, required: true },
    customerId: { type: String, required: true },
    status: { type: String, required: true, enum: PAYMENT_STATUSES },
    currency: { type: String, required: true, enum: CURRENCIES },
    amount: { type: Number, required: true, min: 1, validate: Number.isSafeInteger },
    items: { type: [itemSchema], required: true },
    /** The order's own discounts, after the items' (domain/pricing.ts). */
    discounts: { type: [discountSchema], default: undefined },
    /** The locked exchange quote of a cross-border payment; null when presentment and settlement agree. */
    fx: { type: fxSchema, default: null },
    attempts: { type: [attemptSchema], default: [] },
    /** `hosted` or `channel` (domain/payment.ts `CheckoutMode`); absent on payments from before the hosted checkout. */
    checkout: String,
    /** Where the hosted checkout's result page links back to. */
    returnUrl: String,
    /** The channel's own page for the open order, which the hosted checkout shows or links to. */
    channelPayUrl: { type: String, default: null },
    channel: { type: String, enum: [...PAYMENT_CHANNELS, null], default: null },
    channelTradeNo: { type: String, default: null },
    payUrl: { type: String, default: null },
    /** Why the payment failed or needs people; encrypted like the timeline's details. */
    failureReason: { type: String, default: null },
    voucher: { type: new Schema({ voucherId: String, digest: String }, { _id: false }), default: null },
    refunds: { type: [refundEntrySchema], default: [] },
    /** Minor units refunded so far by refunds on request (compensation refunds end in `refunded`). */
    refundedAmount: { type: Number, default: 0 },
    description: String,
    expiresAt: { type: Date, required: true },
    requestFingerprint: { type: String, required: true },
    /** The `X-Key-Id` of the platform key whose request opened the payment: which backend made it. */
    createdByKeyId: String,
    timeline: { type: [timelineSchema], default: [] },
  },
  { timestamps: true, collection: 'payments' },
);
paymentSchema.index({ paymentId: 1 }, { unique: true });
paymentSchema.index({ orderId: 1 }, { unique: true });
paymentSchema.index({ status: 1, updatedAt: 1 });

export type PaymentDocument = InferSchemaType<typeof paymentSchema>;
export type PaymentModel = Model<PaymentDocument>;

/** The locked exchange quote a payment document holds, in the domain's shape; null when it has none. */
export function fxQuoteOf(doc: Pick<PaymentDocument, 'fx'>): FxQuote | null {
  const { fx } = doc;
  if (!fx) return null;
  return {
    rate: fx.rate,
    presentmentAmount: fx.presentmentAmount,
    presentmentCurrency: fx.presentmentCurrency,
    settlementAmount: fx.settlementAmount,
    settlementCurrency: fx.settlementCurrency,
    quotedAt: fx.quotedAt,
    source: fx.source,
  };
}

/** The learner's tries a payment document holds, in the domain's shape. */
export function attemptsOf(doc: Pick<PaymentDocument, 'attempts'>): PaymentAttempt[] {
  return (doc.attempts ?? []).map((a) => ({
    attempt: a.attempt,
    channel: a.channel,
    outcome: a.outcome as PaymentAttempt['outcome'],
    at: a.at,
    ...(a.reason ? { reason: a.reason } : {}),
  }));
}

export function paymentModel(connection: Connection): PaymentModel {
  return modelOn<PaymentModel>(connection, 'Payment', paymentSchema);
}
