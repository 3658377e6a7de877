import type { Client } from '@temporalio/client';
import type {
  ChannelAck,
  ChannelAdapter,
  ChannelNotification,
  ChannelRefundNotification,
  RawCallback,
} from '../channels/types.js';
import type { Config } from '../config.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Models } from '../db/connect.js';
import { channelOrderKey } from '../db/models/channel-order.js';
import type { Logger } from '../logger.js';
import type { MessageSealer } from '../temporal/message-seal.js';
import type { NotificationOutcome, PaymentChannel } from '../../domain/payment.js';
import { noticeMismatch } from '../../domain/payment-rules.js';
import { channelNotificationUpdate } from '../../workflows/contracts.js';
import type { latePaymentWorkflow } from '../../workflows/late-payment.js';
import { refundNotificationUpdate, refundsWorkflowId } from '../../workflows/refund-contracts.js';
import { OrderIdKey } from '../../workflows/search-attributes.js';
import { workflowFailure } from './failures.js';
import { PAYMENT_ID_PATTERN } from './identity.js';

export interface NotificationDeps {
  client: Client;
  models: Models;
  logger: Logger;
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>;
  channels: Record<PaymentChannel, ChannelAdapter>;
  /** Our app id at each channel: a notification for another app is not ours. */
  appIds: Record<PaymentChannel, string>;
  /** Our merchant id at each channel: a refund notification for another merchant is not ours. */
  merchantIds: Record<PaymentChannel, string>;
  /** Raw notifications can carry payer data: they are stored encrypted. */
  fieldCipher: FieldCipher;
  /** Seals each verified notice, so the workflow knows it came through here. */
  sealer: MessageSealer;
}

/**
 * What became of a notification, as its callback record keeps it. `refusal` is what the channel
 * is told when the notification is not acknowledged (it will send it again); acknowledged otherwise.
 */
export interface NotificationVerdict {
  outcome: NotificationOutcome | 'rejected' | 'error';
  reason: string | null;
  refusal?: string;
}

/** Headers worth keeping with a callback record: the provider's signature envelope, no cookies. */
const KEPT_HEADERS = /^(content-type|user-agent|wechatpay-.*)$/;

const rejected = (reason: string, refusal = reason): NotificationVerdict => ({
  outcome: 'rejected',
  reason,
  refusal,
});

/**
 * A message the workflow did not take: refused (it does not match the payment), or not delivered
 * (the channel will send it again). `closed` answers for a workflow that has ended.
 */
async function undelivered(
  err: unknown,
  closed: () => NotificationVerdict | Promise<NotificationVerdict>,
): Promise<NotificationVerdict> {
  const failure = workflowFailure(err);
  if (failure.kind === 'refused') return rejected(failure.message);
  if (failure.kind === 'closed') return closed();
  return { outcome: 'error', reason: err instanceof Error ? err.message : String(err), refusal: 'try again later' };
}

/**
 * Channel notifications, for `POST /v1/callbacks/:channel` (part of the payment service,
 * src/payments/service.ts). Each is verified on the raw bytes, recorded in MongoDB whatever happens,
 * handed to the payment's workflow (or its refunds workflow) as a sealed Update whose id makes
 * resends of one event a single effect, and acknowledged only once the workflow accepted it. A
 * notification that fails verification or does not match the payment is recorded as rejected and
 * changes nothing.
 */
export function createNotificationDelivery({
  client,
  models,
  logger,
  config,
  channels,
  appIds,
  merchantIds,
  fieldCipher,
  sealer,
}: NotificationDeps) {
  /**
   * The payment's workflow has closed. A verified, matching payment on an expired or canceled
   * payment is refunded by a late-payment workflow (one per payment); anything else is recorded.
   */
  async function afterClose(notice: ChannelNotification): Promise<NotificationVerdict> {
    const payment = await models.payments.findOne({ _id: notice.outTradeNo }).lean();
    if (!payment) return rejected('no such payment');
    const order = await models.channelOrders
      .findOne({ _id: channelOrderKey(notice.outTradeNo, notice.channel) })
      .lean();
    const mismatch = noticeMismatch(notice, {
      paymentId: payment.paymentId,
      channel: order ? notice.channel : null,
      merchantId: order?.merchantId ?? null,
      amount: payment.amount,
      currency: payment.currency,
    });
    if (mismatch) return rejected(mismatch);
    if (notice.state !== 'PAID') return { outcome: 'ignored', reason: null };
    if (payment.status !== 'expired' && payment.status !== 'canceled') return { outcome: 'duplicate', reason: null };
    await client.workflow
      .start<typeof latePaymentWorkflow>('latePaymentWorkflow', {
        workflowId: `${notice.outTradeNo}-late`,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [{ paymentId: notice.outTradeNo, orderId: payment.orderId, notice }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: OrderIdKey, value: payment.orderId }],
      })
      .catch((err: unknown) => {
        if (workflowFailure(err).kind !== 'already_started') throw err;
      });
    return { outcome: 'late_refund', reason: null };
  }

  /** A verified payment notification, sealed, to the payment's workflow. */
  async function deliverNotification(notice: ChannelNotification): Promise<NotificationVerdict> {
    if (!PAYMENT_ID_PATTERN.test(notice.outTradeNo)) return rejected('unknown out_trade_no');
    if (notice.appId !== appIds[notice.channel]) return rejected('app id is not ours');
    try {
      const outcome = await client.workflow.getHandle(notice.outTradeNo).executeUpdate(channelNotificationUpdate, {
        args: [{ ...notice, seal: sealer.seal('channel-notification', notice.outTradeNo, notice) }],
        updateId: `${notice.channel}:${notice.notificationId}:${notice.state}`,
      });
      return { outcome, reason: null };
    } catch (err) {
      return undelivered(err, () => afterClose(notice));
    }
  }

  /** A verified refund notification, sealed, to the payment's refunds workflow. */
  async function deliverRefundNotification(refund: ChannelRefundNotification): Promise<NotificationVerdict> {
    if (!PAYMENT_ID_PATTERN.test(refund.outTradeNo) || refund.merchantId !== merchantIds[refund.channel]) {
      return rejected('not a refund of ours', 'unknown refund');
    }
    const workflowId = refundsWorkflowId(refund.outTradeNo);
    const message = {
      channel: refund.channel,
      notificationId: refund.notificationId,
      refundId: refund.refundId,
      status: refund.status,
      amount: refund.amount,
      currency: refund.currency,
      ...(refund.channelRefundId ? { channelRefundId: refund.channelRefundId } : {}),
      ...(refund.reason ? { reason: refund.reason } : {}),
    };
    try {
      const outcome = await client.workflow.getHandle(workflowId).executeUpdate(refundNotificationUpdate, {
        args: [{ ...message, seal: sealer.seal('refund-notification', workflowId, message) }],
        updateId: `${refund.channel}:${refund.notificationId}:${refund.status}`,
      });
      return { outcome, reason: null };
    } catch (err) {
      // The refunds workflow has ended: the refund was settled (by query) before this arrived.
      return undelivered(err, () => ({ outcome: 'duplicate', reason: 'refunds already settled' }));
    }
  }

  return {
    deliverNotification,
    deliverRefundNotification,

    /** A channel's callback, as received: verified, recorded, delivered; the answer is the channel's ack. */
    async receiveCallback(channel: PaymentChannel, raw: RawCallback): Promise<ChannelAck> {
      const adapter = channels[channel];
      const verification = adapter.verifyNotification(raw);
      const verified = verification.ok
        ? verification.kind === 'payment'
          ? verification.notification
          : verification.refund
        : undefined;
      const record = await models.callbacks.create({
        channel,
        receivedAt: new Date(),
        rawBody: fieldCipher.encrypt(raw.body.toString('utf8')),
        headers: Object.fromEntries(
          Object.entries(raw.headers).filter(([k, v]) => KEPT_HEADERS.test(k) && v !== undefined),
        ),
        verified: verification.ok,
        notificationId: verified?.notificationId ?? null,
        outTradeNo: verified?.outTradeNo ?? (verification.ok ? null : (verification.outTradeNo ?? null)),
        tradeState: verification.ok
          ? verification.kind === 'payment'
            ? verification.notification.state
            : `REFUND_${verification.refund.status}`
          : null,
        amount: verified?.amount ?? null,
        outcome: 'pending',
      });
      const { outcome, reason, refusal } = !verification.ok
        ? rejected(verification.reason)
        : verification.kind === 'refund'
          ? await deliverRefundNotification(verification.refund)
          : await deliverNotification(verification.notification);
      await models.callbacks.updateOne({ _id: record._id }, { $set: { outcome, reason } });
      logger.info({ channel, callbackId: String(record._id), outcome, reason }, 'channel callback');
      return refusal === undefined ? adapter.ackSuccess() : adapter.ackFailure(refusal);
    },
  };
}
