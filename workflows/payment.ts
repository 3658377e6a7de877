import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import type { WebhookEventType } from '../activities/fulfilment.js';
import { activityPresets, localActivityPresets } from './activity-presets.js';
import {
  PaymentErrorCode,
  cancelPaymentUpdate,
  channelNotificationUpdate,
  getPaymentQuery,
  openPaymentUpdate,
  requeryChannelUpdate,
  retryCompensationSignal,
  retryNowUpdate,
  type ChannelNotificationArgs,
  type OpenPaymentArgs,
  type PaymentChannel,
  type PaymentStatus,
  type PaymentView,
  type PaymentWorkflowInput,
  type RefundSummary,
  type StaffNudgeArgs,
  type TimelineEntry,
  type VoucherSummary,
} from './contracts.js';
import { businessRuleViolation, paymentSubject } from './payment-rules.js';
import { NeedsAttentionKey, PaymentChannelKey, PaymentStatusKey, StuckReasonKey } from './search-attributes.js';
import { refusal } from './failures.js';
import { isValidTransition } from './state-machine.js';

const { savePayment } = proxyActivities<PaymentActivities>(activityPresets.persistence);
const { planChannelRoute } = proxyLocalActivities<PaymentActivities>(localActivityPresets.routing);
const { openChannelOrder } = proxyActivities<PaymentActivities>(activityPresets.channelCreate);
const { queryChannelOrder, closeChannelOrder } = proxyActivities<PaymentActivities>(activityPresets.channelCall);
const { refundPayment } = proxyActivities<PaymentActivities>(activityPresets.refund);
const { issueVoucher, voidVoucher } = proxyActivities<PaymentActivities>(activityPresets.voucher);
const { notifyPlatform } = proxyActivities<PaymentActivities>(activityPresets.webhook);
const { recordStaffAction } = proxyActivities<PaymentActivities>(activityPresets.persistence);
const { verifyMessageSeal } = proxyLocalActivities<PaymentActivities>(localActivityPresets.messageCheck);

/** A confirmed charge at the channel. */
interface Charge {
  channelTradeNo: string;
  amount: number;
  paidAt: string;
}

interface Compensation {
  name: string;
  run(): Promise<void>;
}

/** What a `manual_review` waits on, for the `StuckReason` search attribute. */
function stuckReasonOf(detail: string | undefined): string {
  return detail !== undefined && /differs|reports a payment of/.test(detail)
    ? 'amount_mismatch'
    : 'compensation_failed';
}

function describe(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * One payment, from the platform's request to a terminal status: a saga.
 *
 * 1. Check the business rules; route to the channels that can take the payment.
 * 2. Open the channel order (`out_trade_no` = payment id), failing over when a channel is down.
 * 3. Await the channel's verified notification until the window ends (or a cancel). Then ask the
 *    channel: a lost notification, or a payment made while closing, still counts as paid.
 * 4. Issue the voucher and fulfil through the platform webhook. A refusal compensates: refund,
 *    void the voucher, tell the platform.
 * Compensations are registered before their step and run even if the workflow is cancelled; a
 * refund that cannot be made puts the payment in `manual_review` until staff retry it.
 *
 * The workflow id is the payment id, derived from the platform's order id, so a retried create
 * never makes a second payment.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentView> {
  const { paymentId, request, requestFingerprint } = input;
  const expiresAt = new Date(Date.parse(input.acceptedAt) + request.expiresInSeconds * 1000).toISOString();

  let status: PaymentStatus = 'processing';
  const timeline: TimelineEntry[] = [{ at: input.acceptedAt, event: 'payment.accepted' }];
  let channel: PaymentChannel | null = null;
  let merchantId: string | null = null;
  let payUrl: string | null = null;
  let charge: Charge | null = null;
  let voucher: VoucherSummary | null = null;
  const refunds: RefundSummary[] = [];
  let failureReason: string | null = null;
  /** The answer to the opening update is ready: the channel order exists, or the payment failed. */
  let opened = false;
  let openRequests = 0;
  let paidNotice: ChannelNotificationArgs | null = null;
  let latePaidNotice: ChannelNotificationArgs | null = null;
  let cancelRequest: { reason: string } | null = null;
  let cancelDecided = false;
  let retryRequested = false;
  /** Staff asked to ask the channel now, while the payment awaits payment. */
  let requeryRequested = false;
  /** The channel had already paid or closed the order before this run (a reset): ask, don't wait. */
  let decidedAtChannel = false;
  const compensations: Compensation[] = [];

  const view = (): PaymentView => ({
    paymentId,
    orderId: request.orderId,
    status,
    amount: request.amount,
    currency: request.currency,
    channel,
    channelTradeNo: charge?.channelTradeNo ?? null,
    expiresAt,
    voucher,
    refunds: refunds.map((r) => ({ ...r })),
    payUrl: status === 'awaiting_payment' ? payUrl : null,
    failureReason,
    timeline: [...timeline],
  });
  const note = (event: string, detail?: string) =>
    timeline.push({ at: new Date().toISOString(), event, ...(detail ? { detail } : {}) });
  const persist = () => savePayment({ view: view(), request, requestFingerprint });
  const moveTo = async (next: PaymentStatus, detail?: string): Promise<void> => {
    if (!isValidTransition(status, next)) {
      throw ApplicationFailure.nonRetryable(`invalid transition ${status} -> ${next}`, 'invalid_transition');
    }
    const wasReview = status === 'manual_review';
    status = next;
    note(`payment.${next}`, detail);
    upsertSearchAttributes([{ key: PaymentStatusKey, value: next }]);
    if ((next === 'manual_review' || wasReview) && patched('needs-attention')) {
      const reason = next !== 'manual_review' ? '' : stuckReasonOf(detail);
      upsertSearchAttributes([
        { key: NeedsAttentionKey, value: reason !== '' },
        { key: StuckReasonKey, value: reason },
      ]);
    }
    await persist();
  };

  /** Tells the platform; only `payment.succeeded` has an answer that matters (fulfilment). */
  const tellPlatform = async (type: WebhookEventType) => {
    try {
      const result = await notifyPlatform({
        id: `evt_${paymentId}_${type.replace('payment.', '')}`,
        type,
        createdAt: new Date().toISOString(),
        data: { ...view(), timeline: undefined },
      });
      if (!result.delivered) note('webhook.refused', `${type}: ${result.reason}`);
      return result;
    } catch (err) {
      if (isCancellation(err)) throw err;
      note('webhook.undelivered', `${type}: ${describe(err)}`);
      return undefined;
    }
  };

  /** Refunds through the channel, retrying long; on failure waits in `manual_review` for staff. */
  const refund = async (refundId: string, amount: number, reason: string) => {
    const entry: RefundSummary = { refundId, amount, status: 'pending', reason };
    refunds.push(entry);
    note('refund.requested', `${refundId}: ${reason}`);
    await persist();
    for (;;) {
      try {
        await refundPayment({
          channel: channel as PaymentChannel,
          paymentId,
          refundId,
          amount,
          totalAmount: amount,
          currency: request.currency,
          reason,
        });
        entry.status = 'succeeded';
        note('refund.succeeded', refundId);
        return;
      } catch (err) {
        entry.status = 'failed';
        failureReason = `refund ${refundId} of ${amount} could not be made: ${describe(err)}. Send the retryNow Update (or the retryCompensation signal) to try again.`;
        await moveTo('manual_review', failureReason);
        retryRequested = false;
        await condition(() => retryRequested);
        entry.status = 'pending';
        failureReason = null;
        await moveTo('processing', `staff retry of refund ${refundId}`);
      }
    }
  };

  /** Runs the registered compensations, newest first; a cancel of the workflow cannot skip them. */
  const compensate = async (reason: string) => {
    await CancellationScope.nonCancellable(async () => {
      failureReason = reason;
      while (compensations.length > 0) {
        const step = compensations.pop() as Compensation;
        note('compensation.started', step.name);
        await step.run();
      }
      await moveTo('refunded', reason);
      await tellPlatform('payment.refunded');
    });
  };

  /**
   * At the end of the window (or on cancel): ask the channel before closing, and treat "paid
   * while closing" as paid.
   */
  const confirmUnpaidAndClose = async (on: PaymentChannel): Promise<Charge | null> => {
    const asPaid = async (): Promise<Charge | null> => {
      const trade = await queryChannelOrder({ channel: on, paymentId });
      if (trade.state !== 'PAID') return null;
      if (trade.amount !== request.amount) {
        throw ApplicationFailure.nonRetryable(
          `${on} reports a payment of ${trade.amount} ${trade.currency ?? ''}, expected ${request.amount} ${request.currency}`,
          PaymentErrorCode.CallbackMismatch,
        );
      }
      note('channel.query', `${on} reports the payment made`);
      return {
        channelTradeNo: trade.channelTradeNo ?? '',
        amount: request.amount,
        paidAt: trade.paidAt ?? new Date().toISOString(),
      };
    };
    const paid = await asPaid();
    if (paid) return paid;
    const closed = await closeChannelOrder({ channel: on, paymentId });
    if (closed === 'ALREADY_PAID') {
      note('channel.close', 'paid while closing');
      return asPaid();
    }
    note('channel.close', closed === 'CLOSED' ? 'order closed' : 'no order at the channel');
    return null;
  };

  setHandler(getPaymentQuery, view);
  setHandler(retryCompensationSignal, () => {
    retryRequested = true;
  });
  const auditNudge = async (action: string, args: StaffNudgeArgs) => {
    const viaApi =
      args.seal !== undefined &&
      (await verifyMessageSeal({ kind: 'staff-nudge', workflowId: paymentId, message: args }));
    note(`staff.${action}`, `${args.operator}: ${args.reason}`);
    await recordStaffAction({
      id: `${paymentId}:${currentUpdateInfo()?.id ?? action}`,
      operator: args.operator,
      role: viaApi ? (args.role ?? 'unknown') : 'unverified',
      action: `payment.${action}`,
      target: `payment:${paymentId}`,
      paymentId,
      refundId: null,
      reason: args.reason,
      before: { status },
      after: null,
      via: viaApi ? 'api' : 'temporal-ui',
    });
  };
  const nudgeShape = (args: StaffNudgeArgs) => {
    if (typeof args?.operator !== 'string' || args.operator.trim() === '' || typeof args.reason !== 'string') {
      throw refusal(PaymentErrorCode.NothingToDo, 'give { operator, reason }');
    }
  };
  setHandler(
    retryNowUpdate,
    async (args) => {
      await auditNudge('retry', args);
      retryRequested = true;
      return `retrying: ${failureReason ?? 'the failed step'}`;
    },
    {
      validator: (args: StaffNudgeArgs) => {
        nudgeShape(args);
        if (status !== 'manual_review') {
          throw refusal(PaymentErrorCode.NothingToDo, `payment ${paymentId} is ${status}: nothing waits for a retry`);
        }
      },
    },
  );
  setHandler(
    requeryChannelUpdate,
    async (args) => {
      await auditNudge('requery', args);
      requeryRequested = true;
      return `asking ${channel ?? 'the channel'} now`;
    },
    {
      validator: (args: StaffNudgeArgs) => {
        nudgeShape(args);
        if (status !== 'awaiting_payment' || paidNotice !== null || cancelRequest !== null) {
          throw refusal(PaymentErrorCode.NothingToDo, `payment ${paymentId} is not waiting for the channel`);
        }
      },
    },
  );
  setHandler(
    openPaymentUpdate,
    async () => {
      openRequests += 1;
      const created = openRequests === 1;
      await condition(() => opened);
      return { created, payment: view() };
    },
    {
      validator: (args: OpenPaymentArgs) => {
        if (args.requestFingerprint !== requestFingerprint) {
          throw ApplicationFailure.create({
            type: PaymentErrorCode.OrderConflict,
            message: `order ${request.orderId} already has a payment with different parameters`,
            nonRetryable: true,
          });
        }
      },
    },
  );
  setHandler(
    channelNotificationUpdate,
    async (notice) => {
      if (patched('sealed-notifications')) {
        const sealed = await verifyMessageSeal({
          kind: 'channel-notification',
          workflowId: paymentId,
          message: notice,
        });
        if (!sealed) {
          note('callback.refused', `an unsealed ${notice.channel} notification: not from the API`);
          throw refusal(PaymentErrorCode.MessageNotSealed, 'channel notifications come through the API only');
        }
      }
      if (notice.state !== 'PAID') return 'ignored' as const;
      if (paidNotice || charge || latePaidNotice) return 'duplicate' as const;
      if (status === 'expired' || status === 'canceled') {
        latePaidNotice = notice;
        return 'late_refund' as const;
      }
      if (status !== 'awaiting_payment') return 'duplicate' as const;
      paidNotice = notice;
      note('callback.paid', `${notice.channel} notification ${notice.notificationId}`);
      return 'applied' as const;
    },
    {
      validator: (notice: ChannelNotificationArgs) => {
        const mismatch =
          notice.outTradeNo !== paymentId
            ? 'out_trade_no is not this payment'
            : channel === null || notice.channel !== channel
              ? `no order of this payment at ${notice.channel}`
              : notice.merchantId !== merchantId
                ? 'merchant id differs'
                : notice.currency !== request.currency
                  ? `currency ${notice.currency} differs from ${request.currency}`
                  : notice.amount !== request.amount
                    ? `amount ${notice.amount} differs from ${request.amount}`
                    : undefined;
        if (mismatch) {
          throw ApplicationFailure.create({
            type: PaymentErrorCode.CallbackMismatch,
            message: mismatch,
            nonRetryable: true,
          });
        }
      },
    },
  );
  setHandler(
    cancelPaymentUpdate,
    async ({ reason }) => {
      cancelRequest ??= { reason: reason ?? 'canceled by the platform' };
      await condition(() => cancelDecided);
      if (status === 'canceled') return view();
      throw ApplicationFailure.create({
        type: PaymentErrorCode.NotCancelable,
        message: `payment ${paymentId} was paid before it could be canceled`,
        nonRetryable: true,
      });
    },
    {
      validator: (_args) => {
        if (status !== 'awaiting_payment' || paidNotice !== null || cancelDecided) {
          throw ApplicationFailure.create({
            type: PaymentErrorCode.NotCancelable,
            message: `payment ${paymentId} is ${status === 'awaiting_payment' ? 'paid' : status} and cannot be canceled`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  try {
    const violation = businessRuleViolation(request);
    if (violation) {
      failureReason = violation;
      await moveTo('failed', violation);
      opened = true;
      await tellPlatform('payment.failed');
      return await finish();
    }

    const candidates = await planChannelRoute({
      currency: request.currency,
      amount: request.amount,
      ...(request.channel ? { preferred: request.channel } : {}),
    });
    for (const candidate of candidates) {
      // Compensation first: an order may exist even when creating it timed out.
      compensations.push({
        name: `close ${candidate} order`,
        run: async () => {
          await closeChannelOrder({ channel: candidate, paymentId }).catch(() => undefined);
        },
      });
      try {
        const order = await openChannelOrder({
          channel: candidate,
          paymentId,
          amount: request.amount,
          currency: request.currency,
          subject: paymentSubject(request),
          expiresAt,
        });
        channel = candidate;
        merchantId = order.merchantId;
        payUrl = order.payUrl;
        decidedAtChannel = order.decided === true;
        note('channel.order_created', candidate);
        break;
      } catch (err) {
        if (isCancellation(err)) throw err;
        note('channel.unavailable', `${candidate}: ${describe(err)}`);
      }
    }
    if (channel === null) {
      failureReason =
        candidates.length === 0
          ? `no enabled channel takes ${request.amount} ${request.currency}`
          : `every channel that could take the payment was unavailable (${candidates.join(', ')})`;
      await moveTo('failed', failureReason);
      opened = true;
      await tellPlatform('payment.failed');
      return await finish();
    }
    const chosen: PaymentChannel = channel;
    upsertSearchAttributes([{ key: PaymentChannelKey, value: chosen }]);
    // The read model holds the payment before the platform hears of it.
    await moveTo('awaiting_payment', chosen);
    opened = true;

    let windowMs = decidedAtChannel ? 1 : Math.max(Date.parse(expiresAt) - Date.now(), 1);
    for (;;) {
      await condition(() => paidNotice !== null || cancelRequest !== null || requeryRequested, windowMs);
      if (!requeryRequested || paidNotice !== null || cancelRequest !== null) break;
      // Staff asked the channel now (a notification may be lost): paid ends the wait.
      requeryRequested = false;
      const trade = await queryChannelOrder({ channel: chosen, paymentId });
      note('channel.query', `asked by staff: ${chosen} reports ${trade.state}`);
      if (trade.state === 'PAID') break;
      windowMs = Math.max(Date.parse(expiresAt) - Date.now(), 1);
    }
    const notice = paidNotice as ChannelNotificationArgs | null;
    charge = notice
      ? {
          channelTradeNo: notice.channelTradeNo,
          amount: notice.amount,
          paidAt: notice.paidAt ?? new Date().toISOString(),
        }
      : await confirmUnpaidAndClose(chosen);
    const lateNotice = paidNotice as ChannelNotificationArgs | null;
    if (!charge && lateNotice) {
      charge = {
        channelTradeNo: lateNotice.channelTradeNo,
        amount: lateNotice.amount,
        paidAt: lateNotice.paidAt ?? new Date().toISOString(),
      };
    }

    if (!charge) {
      const cancel = cancelRequest as { reason: string } | null;
      if (cancel) await moveTo('canceled', cancel.reason);
      else await moveTo('expired', `no payment within ${request.expiresInSeconds} s`);
      cancelDecided = true;
      compensations.length = 0;
      await tellPlatform(cancel ? 'payment.canceled' : 'payment.expired');
      return await finish();
    }
    cancelDecided = true;
    await settleCharge(charge);
    return await finish();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        if (status === 'awaiting_payment' && channel !== null && charge === null) {
          charge = await confirmUnpaidAndClose(channel);
          if (!charge) {
            compensations.length = 0;
            await moveTo('canceled', 'the payment workflow was cancelled');
            cancelDecided = true;
            await tellPlatform('payment.canceled');
            return;
          }
          registerRefund(charge);
          await moveTo('processing', 'paid; refunding because the payment workflow was cancelled');
        }
        cancelDecided = true;
        if (charge) await compensate('the payment workflow was cancelled after the charge');
        else if (status === 'processing')
          await moveTo('failed', 'the payment workflow was cancelled before a channel order existed');
      });
      return await finish();
    }
    if (charge && compensations.length > 0) {
      await compensate(`the saga failed after the charge: ${describe(err)}`);
      return await finish();
    }
    if (err instanceof ApplicationFailure && err.type === PaymentErrorCode.CallbackMismatch) {
      failureReason = err.message;
      await moveTo('manual_review', failureReason);
      await condition(() => retryRequested);
      return await finish();
    }
    throw err;
  }

  function registerRefund(paid: Charge): void {
    compensations.push({
      name: 'refund the charge',
      run: () => refund(`${paymentId}-r1`, paid.amount, failureReason ?? 'payment compensated'),
    });
  }

  /** The charge is confirmed: voucher, fulfilment, or compensation. */
  async function settleCharge(paid: Charge): Promise<void> {
    compensations.length = 0;
    registerRefund(paid);
    note('payment.paid', `${channel} trade ${paid.channelTradeNo}`);
    await moveTo('processing', 'paid; issuing the voucher');
    compensations.push({
      name: 'void the voucher',
      run: async () => {
        await voidVoucher({ paymentId, reason: failureReason ?? 'payment refunded' });
        if (voucher) note('voucher.voided', voucher.voucherId);
      },
    });
    const signed = await issueVoucher({
      paymentId,
      orderId: request.orderId,
      amount: paid.amount,
      currency: request.currency,
      channel: channel as PaymentChannel,
      channelTradeNo: paid.channelTradeNo,
      items: request.items,
      paidAt: paid.paidAt,
      issuedAt: new Date().toISOString(),
    });
    voucher = { voucherId: signed.voucherId, digest: signed.digest };
    note('voucher.issued', signed.voucherId);
    await persist();

    let delivery: Awaited<ReturnType<typeof notifyPlatform>> | undefined;
    try {
      delivery = await notifyPlatform({
        id: `evt_${paymentId}_succeeded`,
        type: 'payment.succeeded',
        createdAt: new Date().toISOString(),
        data: { ...view(), status: 'succeeded', timeline: undefined, voucher: signed },
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      delivery = undefined;
      note('webhook.undelivered', `payment.succeeded: ${describe(err)}`);
    }
    if (delivery?.delivered) {
      compensations.length = 0;
      await moveTo('succeeded', 'voucher issued and order fulfilled');
      return;
    }
    const reason = delivery
      ? `the platform refused to fulfil the order: ${delivery.reason}`
      : 'the platform did not confirm fulfilment within 24 hours';
    note('fulfilment.refused', reason);
    await compensate(reason);
  }

  /** Lets running handlers finish, then refunds a payment that arrived after the end. */
  async function finish(): Promise<PaymentView> {
    await condition(allHandlersFinished);
    const late = latePaidNotice;
    if (late && (status === 'expired' || status === 'canceled')) {
      await CancellationScope.nonCancellable(async () => {
        note('payment.paid_late', `${late.channel} trade ${late.channelTradeNo} after the payment ${status}`);
        await refund(`${paymentId}-late`, late.amount, `paid after the payment ${status}`);
        await moveTo('refunded', `paid after the payment ended; refunded`);
        await tellPlatform('payment.refunded');
      });
      await condition(allHandlersFinished);
    }
    return view();
  }
}
