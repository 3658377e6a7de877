import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Models } from '../db/connect.js';
import { attemptsOf, fxQuoteOf, type PaymentDocument } from '../db/models/payment.js';
import type { PaymentView, RefundSummary } from '../../domain/payment.js';
import { heldAmount, refundedAmount } from '../../domain/refunds.js';
import { paymentNotFound } from './failures.js';
import { PAYMENT_ID_PATTERN } from './identity.js';

/** The payment's read-model document; the API's 404 when there is none (or the id cannot be one). */
export async function paymentDocument(models: Models, paymentId: string): Promise<PaymentDocument> {
  const doc = PAYMENT_ID_PATTERN.test(paymentId)
    ? await models.payments.findOne({ _id: paymentId }).lean<PaymentDocument>()
    : null;
  if (!doc) throw paymentNotFound(paymentId);
  return doc;
}

/**
 * The payment as the read model holds it, in the same shape the workflow's query answers. The
 * failure reason and the timeline details are stored encrypted (they quote free text from outside)
 * and decrypted here; values written before that are read as they are.
 */
export function viewFromDocument(doc: PaymentDocument, fieldCipher: FieldCipher): PaymentView {
  return {
    paymentId: doc.paymentId,
    orderId: doc.orderId,
    status: doc.status,
    amount: doc.amount,
    currency: doc.currency,
    channel: doc.channel ?? null,
    channelTradeNo: doc.channelTradeNo ?? null,
    expiresAt: doc.expiresAt.toISOString(),
    voucher:
      doc.voucher?.voucherId && doc.voucher.digest
        ? { voucherId: doc.voucher.voucherId, digest: doc.voucher.digest }
        : null,
    refunds: doc.refunds.map((r) => ({
      refundId: r.refundId,
      amount: r.amount,
      status: r.status as RefundSummary['status'],
      reason: r.reason,
      ...(r.currency ? { currency: r.currency } : {}),
      ...(r.requestedAt ? { requestedAt: r.requestedAt } : {}),
      ...(r.decidedAt ? { decidedAt: r.decidedAt } : {}),
      ...(r.completedAt ? { completedAt: r.completedAt } : {}),
      ...(r.reviewReason ? { reviewReason: r.reviewReason } : {}),
      ...(r.failureReason ? { failureReason: r.failureReason } : {}),
      ...(r.settlementAmount !== undefined && r.settlementAmount !== null
        ? { settlementAmount: r.settlementAmount }
        : {}),
      ...(r.items && r.items.length > 0
        ? { items: r.items.map((i) => ({ courseId: String(i.courseId), amount: Number(i.amount) })) }
        : {}),
    })),
    payUrl: doc.status === 'awaiting_payment' ? (doc.payUrl ?? null) : null,
    fx: fxQuoteOf(doc),
    attempts: attemptsOf(doc),
    failureReason: doc.failureReason ? fieldCipher.decryptOrPlain(doc.failureReason) : null,
    timeline: doc.timeline.map((t) => ({
      at: t.at.toISOString(),
      event: t.event,
      ...(t.detail ? { detail: fieldCipher.decryptOrPlain(t.detail) } : {}),
    })),
  };
}

/**
 * The payment as the API answers it: its view, refunds in their public statuses (a compensation
 * refund in flight reads `processing`), and the refunded and refundable amounts. The refundable
 * amount is the captured amount less every refund that holds a share of it (`pending_review`,
 * `processing`, `succeeded`); only `succeeded` and `partially_refunded` payments have one.
 */
export function publicPaymentView(view: PaymentView) {
  const refunds = view.refunds.map((r) => ({
    ...r,
    status: r.status === 'pending' ? ('processing' as const) : r.status,
  }));
  const refundable = view.status === 'succeeded' || view.status === 'partially_refunded';
  return {
    ...view,
    refunds,
    refundedAmount: refundedAmount(refunds),
    refundableAmount: refundable ? Math.max(view.amount - heldAmount(refunds), 0) : 0,
  };
}
