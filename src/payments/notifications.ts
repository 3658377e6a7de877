import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Types } from 'mongoose';
import type {
  ChannelAck,
  ChannelAdapter,
  ChannelNotification,
  ChannelRefundNotification,
  RawCallback,
} from '../channels/types.js';
import { WORKFLOW_TASK_TIMEOUT } from '../temporal/client.js';
import type { Config } from '../config.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Models } from '../db/connect.js';
import { REJECTED_BODY_PREFIX_BYTES, type CallbackDocument } from '../db/models/callback.js';
import { channelOrderKey } from '../db/models/channel-order.js';
import { isDuplicateKeyError } from '../db/errors.js';
import { addToLogContext, type Logger } from '../logger.js';
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
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'CALLBACK_REJECTED_RETENTION_DAYS'>;
  channels: Record<PaymentChannel, ChannelAdapter>;
  /** Our app id at each channel: a notification for another app is not ours. */
  appIds: Record<PaymentChannel, string>;
  /** Our merchant id at each channel: a refund notification for another merchant is not ours. */
  merchantIds: Record<PaymentChannel, string>;
  /** Raw notifications can carry payer data: they are stored encrypted. */
  fieldCipher: FieldCipher;
  /** Seals each verified notice, so the workflow knows it came through here. */
  sealer: MessageSealer;
  /** Hears what became of each callback (the metrics count them by channel and outcome). */
  onCallback?: (channel: PaymentChannel, outcome: string) => void;
}

/**
 * What became of a notification, as its callback record keeps it. `refusal` is set when the
 * notification is not acknowledged (the channel will send it again); the channel hears only its
 * generic failure answer, never the reason.
 */
export interface NotificationVerdict {
  outcome: NotificationOutcome | 'rejected' | 'error';
  reason: string | null;
  refusal?: string;
}

/** Headers worth keeping with a callback record: the provider's signature envelope, no cookies. */
const KEPT_HEADERS = new Set([
  'content-type',
  'user-agent',
  'wechatpay-serial',
  'wechatpay-signature',
  'wechatpay-timestamp',
  'wechatpay-nonce',
  'wechatpay-signature-type',
]);
/** Each kept header is cut to this many characters: whoever sent it chose its length. */
const KEPT_HEADER_MAX_LENGTH = 1024;
/** An `out_trade_no` read from a notification that did not verify is kept only up to this length. */
const UNVERIFIED_ID_MAX_LENGTH = 64;
const DAY_MS = 86_400_000;

function keptHeaders(headers: RawCallback['headers']): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (KEPT_HEADERS.has(name) && value !== undefined) kept[name] = value.slice(0, KEPT_HEADER_MAX_LENGTH);
  }
  return kept;
}

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
  onCallback,
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
        workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
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
    addToLogContext({ paymentId: notice.outTradeNo });
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
    addToLogContext({ paymentId: refund.outTradeNo });
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

  /** What a callback record keeps of the body: all of it, encrypted, only once it verified. */
  function storedBody(body: Buffer, verified: boolean, receivedAt: Date) {
    const digest = { bodySha256: createHash('sha256').update(body).digest('hex'), bodyBytes: body.length };
    if (verified) return { ...digest, rawBody: fieldCipher.encrypt(body.toString('utf8')) };
    return {
      ...digest,
      bodyPrefix: fieldCipher.encrypt(body.subarray(0, REJECTED_BODY_PREFIX_BYTES).toString('utf8')),
      expiresAt: new Date(receivedAt.getTime() + config.CALLBACK_REJECTED_RETENTION_DAYS * DAY_MS),
    };
  }

  /**
   * Temporal answers every delivery of one event (one Update id) with the first one's outcome,
   * even after the workflow has closed, so resends and replays of an applied event come back
   * `applied` too. Of the deliveries answered `applied`, only the one that first claims the event
   * (an insert keyed by it) is recorded as applied; the later ones are duplicates.
   */
  async function claimApplied(
    record: Pick<CallbackDocument, 'channel' | 'notificationId' | 'tradeState'> & { _id: Types.ObjectId },
  ): Promise<'applied' | 'duplicate'> {
    if (!record.notificationId || !record.tradeState) return 'applied';
    const _id = `${record.channel}:${record.notificationId}:${record.tradeState}`;
    try {
      await models.appliedCallbackEvents.create({ _id, callbackId: record._id, at: new Date() });
      return 'applied';
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    const first = await models.appliedCallbackEvents.findOne({ _id }, { callbackId: 1 }).lean();
    if (first === null || first.callbackId.equals(record._id)) return 'applied';
    // The delivery that claimed the event can only have been applied: say so, in case its process
    // died between the claim and recording the outcome.
    await models.callbacks.updateOne({ _id: first.callbackId }, { $set: { outcome: 'applied', reason: null } });
    return 'duplicate';
  }

  return {
    deliverNotification,
    deliverRefundNotification,

    /**
     * A channel's callback, as received: verified, recorded, delivered; the answer is the channel's
     * ack. A refusal is the channel's generic failure answer whatever the reason, which only the
     * callback record keeps.
     */
    async receiveCallback(channel: PaymentChannel, raw: RawCallback): Promise<ChannelAck> {
      const adapter = channels[channel];
      const verification = await adapter.verifyNotification(raw);
      const verified = verification.ok
        ? verification.kind === 'payment'
          ? verification.notification
          : verification.refund
        : undefined;
      const unverifiedTradeNo = verification.ok ? undefined : verification.outTradeNo;
      const receivedAt = new Date();
      const record = await models.callbacks.create({
        channel,
        receivedAt,
        ...storedBody(raw.body, verification.ok, receivedAt),
        headers: keptHeaders(raw.headers),
        verified: verification.ok,
        notificationId: verified?.notificationId ?? null,
        outTradeNo:
          verified?.outTradeNo ??
          (unverifiedTradeNo !== undefined && unverifiedTradeNo.length <= UNVERIFIED_ID_MAX_LENGTH
            ? unverifiedTradeNo
            : null),
        tradeState: verification.ok
          ? verification.kind === 'payment'
            ? verification.notification.state
            : `REFUND_${verification.refund.status}`
          : null,
        amount: verified?.amount ?? null,
        outcome: 'pending',
      });
      const verdict = !verification.ok
        ? rejected(verification.reason)
        : verification.kind === 'refund'
          ? await deliverRefundNotification(verification.refund)
          : await deliverNotification(verification.notification);
      const { refusal } = verdict;
      const outcome = verdict.outcome === 'applied' ? await claimApplied(record) : verdict.outcome;
      const reason = outcome === 'duplicate' ? 'an earlier delivery of this event was applied' : verdict.reason;
      await models.callbacks.updateOne({ _id: record._id }, { $set: { outcome, reason } });
      logger.info({ channel, callbackId: String(record._id), outcome, reason }, 'channel callback');
      onCallback?.(channel, outcome);
      return refusal === undefined ? adapter.ackSuccess() : adapter.ackFailure(refusal);
    },

    /**
     * The channel's failure answer, with `status`, for a callback refused before it is read or
     * recorded (403 from outside the allowed ranges, 429 over the rate limit, 400 for over-long
     * headers): the channel resends it later.
     */
    callbackRefusal(channel: PaymentChannel, status: number): ChannelAck {
      onCallback?.(channel, 'refused');
      return { ...channels[channel].ackFailure('refused before reading'), status };
    },
  };
}
