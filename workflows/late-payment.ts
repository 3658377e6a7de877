import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import { activityPresets } from './activity-presets.js';
import type { ChannelNotificationArgs, PaymentStatus, RefundSummary } from '../domain/payment.js';
import { PaymentStatusKey } from './search-attributes.js';

const { readPaymentStatus, recordLateRefund } = proxyActivities<PaymentActivities>(activityPresets.persistence);
const { queryChannelOrder } = proxyActivities<PaymentActivities>(activityPresets.channelCall);
const { refundPayment } = proxyActivities<PaymentActivities>(activityPresets.refund);
const { notifyPlatform } = proxyActivities<PaymentActivities>(activityPresets.webhook);

export interface LatePaymentInput {
  paymentId: string;
  orderId: string;
  notice: ChannelNotificationArgs;
}

/**
 * A channel says a payment was made after its workflow had already ended `expired` or
 * `canceled`: the learner gets the money back. One per payment (workflow id
 * `<paymentId>-late`), and the refund id `<paymentId>-late` is the channel's idempotency key, so
 * however many late notifications come, at most one refund is made.
 */
export async function latePaymentWorkflow({ paymentId, orderId, notice }: LatePaymentInput): Promise<PaymentStatus> {
  setCurrentDetails(
    `A ${notice.channel} payment of ${notice.amount} ${notice.currency} for order ${orderId} came after the payment ended: checking with the channel, then refunding it once.`,
  );
  const status = await readPaymentStatus.executeWithOptions(
    { ...activityPresets.persistence, summary: 'read how the payment ended' },
    [{ paymentId }],
  );
  if (status !== 'expired' && status !== 'canceled') return status ?? 'failed';
  const trade = await queryChannelOrder.executeWithOptions(
    { ...activityPresets.channelCall, summary: `ask ${notice.channel} whether the order is paid` },
    [{ channel: notice.channel, paymentId }],
  );
  if (trade.state !== 'PAID') return status;
  if (trade.amount !== notice.amount) {
    throw ApplicationFailure.nonRetryable(
      `${notice.channel} reports ${trade.amount}, the notification said ${notice.amount}`,
      'callback_mismatch',
    );
  }
  const refund: RefundSummary = {
    refundId: `${paymentId}-late`,
    amount: notice.amount,
    status: 'succeeded',
    reason: `paid after the payment ${status}`,
  };
  await refundPayment.executeWithOptions(
    { ...activityPresets.refund, summary: `refund ${refund.amount} ${notice.currency} (${refund.refundId})` },
    [
      {
        channel: notice.channel,
        paymentId,
        refundId: refund.refundId,
        amount: refund.amount,
        totalAmount: refund.amount,
        currency: notice.currency,
        reason: refund.reason,
      },
    ],
  );
  await recordLateRefund({ paymentId, refund, at: new Date().toISOString() });
  upsertSearchAttributes([{ key: PaymentStatusKey, value: 'refunded' }]);
  await notifyPlatform({
    id: `evt_${paymentId}_refunded`,
    type: 'payment.refunded',
    createdAt: new Date().toISOString(),
    data: {
      paymentId,
      orderId,
      status: 'refunded',
      amount: notice.amount,
      currency: notice.currency,
      refunds: [refund],
    },
  });
  return 'refunded';
}
