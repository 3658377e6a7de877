import express, { Router, type Response } from 'express';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ChannelAck, ChannelAdapter, ChannelNotification } from '../../channels/types.js';
import type { FieldCipher } from '../../crypto/field-cipher.js';
import type { Models } from '../../db/connect.js';
import { channelOrderKey } from '../../db/models/channel-order.js';
import type { Logger } from '../../logger.js';
import { PAYMENT_ID_PATTERN } from '../../payments/identity.js';
import { isWorkflowClosedError } from '../../temporal/errors.js';
import type { MessageSealer } from '../../temporal/message-seal.js';
import { refundNotificationUpdate, refundsWorkflowId } from '../../../workflows/refund-contracts.js';
import { type NotificationOutcome, PAYMENT_CHANNELS, type PaymentChannel } from '../../../domain/payment.js';
import { noticeMismatch } from '../../../domain/payment-rules.js';
import { channelNotificationUpdate } from '../../../workflows/contracts.js';
import type { latePaymentWorkflow } from '../../../workflows/late-payment.js';
import { OrderIdKey } from '../../../workflows/search-attributes.js';
import { ApiError } from '../errors.js';

export interface CallbackRoutesDeps {
  client: Client;
  models: Models;
  logger: Logger;
  taskQueue: string;
  channels: Record<PaymentChannel, ChannelAdapter>;
  /** Our app id at each channel: a notification for another app is not ours. */
  appIds: Record<PaymentChannel, string>;
  /** Our merchant id at each channel: a refund notification for another merchant is not ours. */
  merchantIds: Record<PaymentChannel, string>;
  bodyLimitBytes: number;
  /** Raw notifications can carry payer data: they are stored encrypted. */
  fieldCipher: FieldCipher;
  /** Seals each verified notice, so the workflow knows it came through here. */
  sealer: MessageSealer;
}

/** Headers worth keeping with a callback record: the provider's signature envelope, no cookies. */
const KEPT_HEADERS = /^(content-type|user-agent|wechatpay-.*)$/;

function send(res: Response, ack: ChannelAck): void {
  res.status(ack.status).type(ack.contentType).send(ack.body);
}

/**
 * `POST /v1/callbacks/:channel`: a channel's asynchronous notification, in the channel's own
 * format. Verified on the raw bytes, recorded in MongoDB whatever happens, handed to the payment's
 * workflow as an Update (whose id makes resends of one event a single effect), and acknowledged
 * in the channel's exact format only once the workflow accepted it. A notification that fails
 * verification or does not match the payment is recorded as rejected and changes nothing.
 */
export function callbackRoutes({
  client,
  models,
  logger,
  taskQueue,
  channels,
  appIds,
  merchantIds,
  bodyLimitBytes,
  fieldCipher,
  sealer,
}: CallbackRoutesDeps): Router {
  const router = Router();
  router.post('/:channel', express.raw({ type: () => true, limit: bodyLimitBytes }), async (req, res) => {
    const name = req.params.channel as PaymentChannel;
    if (!PAYMENT_CHANNELS.includes(name)) {
      throw new ApiError(404, 'not_found_error', 'unknown_channel', `No channel ${req.params.channel}.`, 'channel');
    }
    const adapter = channels[name];
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headers: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(req.headers))
      headers[key] = Array.isArray(value) ? value.join(',') : value;
    const verification = adapter.verifyNotification({ body, headers });
    const verified = verification.ok
      ? verification.kind === 'payment'
        ? verification.notification
        : verification.refund
      : undefined;
    const record = await models.callbacks.create({
      channel: name,
      receivedAt: new Date(),
      rawBody: fieldCipher.encrypt(body.toString('utf8')),
      headers: Object.fromEntries(Object.entries(headers).filter(([k, v]) => KEPT_HEADERS.test(k) && v !== undefined)),
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
    const conclude = async (
      outcome: NotificationOutcome | 'rejected' | 'error',
      reason: string | null,
      ack: ChannelAck,
    ) => {
      await models.callbacks.updateOne({ _id: record._id }, { $set: { outcome, reason } });
      logger.info({ channel: name, callbackId: String(record._id), outcome, reason }, 'channel callback');
      send(res, ack);
    };

    if (!verification.ok) {
      await conclude('rejected', verification.reason, adapter.ackFailure(verification.reason));
      return;
    }
    if (verification.kind === 'refund') {
      const refund = verification.refund;
      if (!PAYMENT_ID_PATTERN.test(refund.outTradeNo) || refund.merchantId !== merchantIds[name]) {
        await conclude('rejected', 'not a refund of ours', adapter.ackFailure('unknown refund'));
        return;
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
        await conclude(outcome, null, adapter.ackSuccess());
      } catch (err) {
        const failure =
          err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        if (failure) await conclude('rejected', failure.message, adapter.ackFailure(failure.message));
        // The refunds workflow has ended: the refund was settled (by query) before this arrived.
        else if (isWorkflowClosedError(err))
          await conclude('duplicate', 'refunds already settled', adapter.ackSuccess());
        else
          await conclude(
            'error',
            err instanceof Error ? err.message : String(err),
            adapter.ackFailure('try again later'),
          );
      }
      return;
    }
    const notice = verification.notification;
    if (!PAYMENT_ID_PATTERN.test(notice.outTradeNo)) {
      await conclude('rejected', 'unknown out_trade_no', adapter.ackFailure('unknown out_trade_no'));
      return;
    }
    if (notice.appId !== appIds[name]) {
      await conclude('rejected', 'app id is not ours', adapter.ackFailure('app id is not ours'));
      return;
    }
    try {
      const outcome = await client.workflow.getHandle(notice.outTradeNo).executeUpdate(channelNotificationUpdate, {
        args: [{ ...notice, seal: sealer.seal('channel-notification', notice.outTradeNo, notice) }],
        updateId: `${notice.channel}:${notice.notificationId}:${notice.state}`,
      });
      await conclude(outcome, null, adapter.ackSuccess());
    } catch (err) {
      const failure =
        err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure ? err.cause : undefined;
      if (failure) {
        await conclude('rejected', failure.message, adapter.ackFailure(failure.message));
        return;
      }
      const closed = isWorkflowClosedError(err);
      if (!closed) {
        await conclude(
          'error',
          err instanceof Error ? err.message : String(err),
          adapter.ackFailure('try again later'),
        );
        return;
      }
      const verdict = await handleAfterClose(notice);
      await conclude(
        verdict.outcome,
        verdict.reason,
        verdict.outcome === 'rejected' ? adapter.ackFailure(verdict.reason ?? '') : adapter.ackSuccess(),
      );
    }
  });

  /**
   * The payment's workflow has closed. A verified, matching payment on an expired or canceled
   * payment is refunded by a late-payment workflow (one per payment); anything else is recorded.
   */
  async function handleAfterClose(
    notice: ChannelNotification,
  ): Promise<{ outcome: NotificationOutcome | 'rejected'; reason: string | null }> {
    const payment = await models.payments.findOne({ _id: notice.outTradeNo }).lean();
    if (!payment) return { outcome: 'rejected', reason: 'no such payment' };
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
    if (mismatch) return { outcome: 'rejected', reason: mismatch };
    if (notice.state !== 'PAID') return { outcome: 'ignored', reason: null };
    if (payment.status !== 'expired' && payment.status !== 'canceled') return { outcome: 'duplicate', reason: null };
    await client.workflow
      .start<typeof latePaymentWorkflow>('latePaymentWorkflow', {
        workflowId: `${notice.outTradeNo}-late`,
        taskQueue,
        args: [{ paymentId: notice.outTradeNo, orderId: payment.orderId, notice }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: OrderIdKey, value: payment.orderId }],
      })
      .catch((err: unknown) => {
        if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
      });
    return { outcome: 'late_refund', reason: null };
  }

  return router;
}
