import type { PaymentDocument } from '../db/models/payment.js';
import type { PaymentView, RefundSummary } from '../../workflows/contracts.js';

/** The payment as the read model holds it, in the same shape the workflow's query answers. */
export function viewFromDocument(doc: PaymentDocument): PaymentView {
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
    })),
    payUrl: doc.status === 'awaiting_payment' ? (doc.payUrl ?? null) : null,
    failureReason: doc.failureReason ?? null,
    timeline: doc.timeline.map((t) => ({
      at: t.at.toISOString(),
      event: t.event,
      ...(t.detail ? { detail: t.detail } : {}),
    })),
  };
}
