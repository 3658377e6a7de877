import type { FieldCipher } from '../src/crypto/field-cipher.js';
import type { Models } from '../src/db/connect.js';
import type { PaymentRequest, PaymentStatus, PaymentView, RefundSummary } from '../domain/payment.js';
import type { StatsRollups } from '../src/stats/rollups.js';
import type { WorkerMetrics } from '../src/worker/metrics.js';

export interface PaymentSnapshot {
  view: PaymentView;
  request: PaymentRequest;
  requestFingerprint: string;
  /** The platform key that opened the payment, written once with the document. */
  createdByKeyId?: string;
  /** The channel's own page for the open order (the view's `payUrl` may be the hosted checkout). */
  channelPayUrl?: string | null;
}

/**
 * Keeps the MongoDB read model in step with the workflow. Each write is an idempotent upsert
 * keyed by `paymentId` carrying the whole current view: a retried activity, or a replayed
 * workflow, writes the same document again and never a second one. Personal data and free text
 * from outside (the customer id, the description, the failure reason and every timeline detail,
 * which quote a cancel reason or the platform's or a channel's answer) is encrypted before it is
 * written. The payment's own workflow writes it, and after the sale its refunds workflow writes the
 * refunds and the status; a late retry of the sale's write never takes those back.
 */
export function createPersistenceActivities({
  models,
  fieldCipher,
  stats,
  metrics,
}: {
  models: Models;
  fieldCipher: FieldCipher;
  /** Hears which milestones each write reached (the worker's Prometheus metrics). */
  metrics?: Pick<WorkerMetrics, 'paymentChanged'>;
  /** The payment statistics, kept in step with each write (domain/stats.ts). */
  stats: StatsRollups;
}) {
  return {
    async savePayment({
      view,
      request,
      requestFingerprint,
      createdByKeyId,
      channelPayUrl,
    }: PaymentSnapshot): Promise<void> {
      if (view.status === 'succeeded') {
        // A retried write of the sale can land after the refunds workflow has refunded part or
        // all of it (this attempt's first try was written, its completion lost): it must not
        // take the payment back to succeeded and drop the refunds.
        const current = await models.payments.findOne({ _id: view.paymentId }, { status: 1 }).lean();
        if (current?.status === 'partially_refunded' || current?.status === 'refunded') return;
      }
      await models.payments.updateOne(
        { _id: view.paymentId },
        {
          $set: {
            status: view.status,
            channel: view.channel,
            channelTradeNo: view.channelTradeNo,
            payUrl: view.payUrl,
            channelPayUrl: channelPayUrl ?? null,
            attempts: view.attempts ?? [],
            fx: view.fx ?? null,
            failureReason: view.failureReason === null ? null : fieldCipher.encrypt(view.failureReason),
            voucher: view.voucher,
            refunds: view.refunds,
            timeline: view.timeline.map((entry) => ({
              ...entry,
              at: new Date(entry.at),
              ...(entry.detail === undefined ? {} : { detail: fieldCipher.encrypt(entry.detail) }),
            })),
          },
          $setOnInsert: {
            paymentId: view.paymentId,
            orderId: request.orderId,
            customerId: fieldCipher.encrypt(request.customerId),
            currency: request.currency,
            amount: request.amount,
            items: request.items,
            ...(request.discounts ? { discounts: request.discounts } : {}),
            ...(request.checkout ? { checkout: request.checkout } : {}),
            ...(request.returnUrl ? { returnUrl: request.returnUrl } : {}),
            description: request.description === undefined ? undefined : fieldCipher.encrypt(request.description),
            expiresAt: new Date(view.expiresAt),
            requestFingerprint,
            ...(createdByKeyId ? { createdByKeyId } : {}),
          },
        },
        { upsert: true, runValidators: true },
      );
      const recording = stats
        .record({
          paymentId: view.paymentId,
          status: view.status,
          channel: view.channel,
          currency: request.currency,
          amount: request.amount,
          timeline: view.timeline,
          refunds: view.refunds,
        })
        .then((change) => metrics?.paymentChanged(view.channel, change, true));
      // The save that answers the platform's create is not held up by the statistics: the payment's
      // next save (every payment ends with one) brings them up to date if this one is lost, and a
      // late write never overrides a later one. Every other save waits for them.
      if (view.status === 'awaiting_payment') recording.catch(() => undefined);
      else await recording;
    },

    /** The read model's status of a payment whose workflow has closed (late notifications). */
    async readPaymentStatus({ paymentId }: { paymentId: string }): Promise<PaymentStatus | null> {
      const doc = await models.payments.findOne({ _id: paymentId }, { status: 1 }).lean();
      return doc?.status ?? null;
    },

    /**
     * Records a refund of a payment that arrived after the payment ended. Idempotent: the refund
     * is written once, keyed by its id.
     */
    async recordLateRefund({
      paymentId,
      refund,
      at,
    }: {
      paymentId: string;
      refund: RefundSummary;
      at: string;
    }): Promise<void> {
      const doc = await models.payments.findOne({ _id: paymentId }).lean();
      if (!doc) throw new Error(`payment ${paymentId} is not in the read model`);
      const refunds = [...doc.refunds.filter((r) => r.refundId !== refund.refundId), refund];
      const isThisRefund = (t: { event: string; detail?: string | null }) =>
        t.event === 'payment.refunded' && fieldCipher.decryptOrPlain(t.detail ?? '') === refund.refundId;
      const timeline = [
        ...doc.timeline.filter((t) => !isThisRefund(t)),
        { at: new Date(at), event: 'payment.refunded', detail: fieldCipher.encrypt(refund.refundId) },
      ];
      await models.payments.updateOne({ _id: paymentId }, { $set: { status: 'refunded', refunds, timeline } });
      const change = await stats.record({
        paymentId,
        status: 'refunded',
        channel: doc.channel ?? null,
        currency: doc.currency,
        amount: doc.amount,
        timeline,
        refunds,
      });
      metrics?.paymentChanged(doc.channel ?? null, change, true);
    },
  };
}
