import { ApplicationFailure, condition, currentUpdateInfo, patched, setHandler } from '@temporalio/workflow';
import { PaymentErrorCode } from '../../domain/errors.js';
import { PAYMENT_CHANNELS, type ChannelNotificationArgs } from '../../domain/payment.js';
import { noticeMismatch } from '../../domain/payment-rules.js';
import {
  allowPaymentUpdate,
  blockPaymentUpdate,
  cancelPaymentUpdate,
  channelNotificationUpdate,
  choosePaymentMethodUpdate,
  type ChoosePaymentMethodArgs,
  getPaymentQuery,
  type CancelPaymentArgs,
  type OpenPaymentArgs,
  openPaymentUpdate,
  requeryChannelUpdate,
  retryCompensationSignal,
  retryNowUpdate,
  type StaffNudgeArgs,
} from '../contracts.js';
import { refusal, requireMessage } from '../failures.js';
import { activity } from './activities.js';
import { PATCHES, type PaymentState } from './state.js';

/**
 * The payment workflow's messages: what each may ask, checked in its validator (a refused message
 * leaves no trace in history), and what it records in the shared state for the story to act on.
 */
export function installPaymentHandlers(state: PaymentState): void {
  const { paymentId } = state;

  setHandler(getPaymentQuery, () => state.view());
  setHandler(retryCompensationSignal, () => {
    state.retryRequested = true;
  });

  /** Staff nudges move no money; the audit says whether the API vouched for the operator. */
  const auditNudge = async (action: string, args: StaffNudgeArgs) => {
    const viaApi =
      args.seal !== undefined &&
      (await activity.verifyMessageSeal({ kind: 'staff-nudge', workflowId: paymentId, message: args }));
    state.note(`staff.${action}`, `${args.operator}: ${args.reason}`);
    await activity.recordStaffAction.executeWithOptions(
      { ...activity.presets.persistence, summary: `audit: ${action} by ${args.operator}` },
      [
        {
          id: `${paymentId}:${currentUpdateInfo()?.id ?? action}`,
          operator: args.operator,
          role: viaApi ? (args.role ?? 'unknown') : 'unverified',
          action: `payment.${action}`,
          target: `payment:${paymentId}`,
          paymentId,
          refundId: null,
          reason: args.reason,
          before: { status: state.status },
          after: null,
          via: viaApi ? 'api' : 'temporal-ui',
        },
      ],
    );
  };
  const nudgeShape = (args: StaffNudgeArgs) => {
    requireMessage(args, '{ operator, reason }');
    if (typeof args.operator !== 'string' || args.operator.trim() === '' || typeof args.reason !== 'string') {
      throw refusal(PaymentErrorCode.NothingToDo, 'give { operator, reason }');
    }
  };

  setHandler(
    retryNowUpdate,
    async (args) => {
      await auditNudge('retry', args);
      state.retryRequested = true;
      return `retrying: ${state.failureReason ?? 'the failed step'}`;
    },
    {
      validator: (args: StaffNudgeArgs) => {
        nudgeShape(args);
        if (state.status !== 'manual_review') {
          throw refusal(
            PaymentErrorCode.NothingToDo,
            `payment ${paymentId} is ${state.status}: nothing waits for a retry`,
          );
        }
      },
    },
  );
  setHandler(
    requeryChannelUpdate,
    async (args) => {
      await auditNudge('requery', args);
      state.requeryRequested = true;
      return `asking ${state.channel ?? 'the channel'} now`;
    },
    {
      validator: (args: StaffNudgeArgs) => {
        nudgeShape(args);
        if (state.status !== 'awaiting_payment' || state.paidNotice !== null || state.cancelRequest !== null) {
          throw refusal(PaymentErrorCode.NothingToDo, `payment ${paymentId} is not waiting for the channel`);
        }
      },
    },
  );
  for (const [update, decision] of [
    [allowPaymentUpdate, 'allow'],
    [blockPaymentUpdate, 'block'],
  ] as const) {
    setHandler(
      update,
      async (args) => {
        // Claimed before the first await, so a concurrent decision is refused by the validator.
        state.riskDecisionClaimed = true;
        try {
          await auditNudge(`risk_${decision}`, args);
        } catch (err) {
          state.riskDecisionClaimed = false;
          throw err;
        }
        if (state.status !== 'risk_review') {
          throw refusal(PaymentErrorCode.NothingToDo, `payment ${paymentId} became ${state.status} meanwhile`);
        }
        state.riskDecision = decision;
        return decision === 'allow' ? 'allowed: routing the payment' : 'blocked: the payment fails';
      },
      {
        validator: (args: StaffNudgeArgs) => {
          nudgeShape(args);
          if (state.status !== 'risk_review' || state.riskDecision !== null || state.riskDecisionClaimed) {
            throw refusal(
              PaymentErrorCode.NothingToDo,
              `payment ${paymentId} is ${state.status}: no risk review waits`,
            );
          }
        },
      },
    );
  }
  setHandler(
    openPaymentUpdate,
    async () => {
      state.openRequests += 1;
      const created = state.openRequests === 1;
      await condition(() => state.opened);
      return { created, payment: state.view() };
    },
    {
      validator: (args: OpenPaymentArgs) => {
        requireMessage(args, '{ requestFingerprint }');
        if (args.requestFingerprint !== state.input.requestFingerprint) {
          throw ApplicationFailure.create({
            type: PaymentErrorCode.OrderConflict,
            message: `order ${state.request.orderId} already has a payment with different parameters`,
            nonRetryable: true,
          });
        }
      },
    },
  );
  setHandler(
    channelNotificationUpdate,
    async (notice) => {
      if (patched(PATCHES.sealedNotifications)) {
        const sealed = await activity.verifyMessageSeal({
          kind: 'channel-notification',
          workflowId: paymentId,
          message: notice,
        });
        if (!sealed) {
          state.note('callback.refused', `an unsealed ${notice.channel} notification: not from the API`);
          throw refusal(PaymentErrorCode.MessageNotSealed, 'channel notifications come through the API only');
        }
      }
      if (notice.state === 'APPROVED') {
        // Approval moves no money: the saga captures, once, while the payment still waits for one.
        if (state.status !== 'awaiting_payment' || state.paidNotice || state.cancelRequest) return 'ignored' as const;
        if (state.approvalNotice?.notificationId === notice.notificationId) return 'duplicate' as const;
        state.approvalNotice = notice;
        state.note('callback.approved', `${notice.channel} notification ${notice.notificationId}: capturing`);
        return 'applied' as const;
      }
      if (notice.state === 'NOT_PAID' && notice.declineReason !== undefined) {
        // A declined try takes no money: the story records it, and the payment stays payable.
        if (state.status !== 'awaiting_payment' || state.paidNotice || state.cancelRequest) return 'ignored' as const;
        if (state.declineNoticeIds.has(notice.notificationId)) return 'duplicate' as const;
        state.declineNoticeIds.add(notice.notificationId);
        state.declineNotices.push(notice);
        return 'applied' as const;
      }
      if (notice.state !== 'PAID') return 'ignored' as const;
      if (state.paidNotice || state.charge || state.latePaidNotice) return 'duplicate' as const;
      if (state.status === 'expired' || state.status === 'canceled') {
        state.latePaidNotice = notice;
        return 'late_refund' as const;
      }
      if (state.status !== 'awaiting_payment') return 'duplicate' as const;
      state.paidNotice = notice;
      state.note('callback.paid', `${notice.channel} notification ${notice.notificationId}`);
      return 'applied' as const;
    },
    {
      validator: (notice: ChannelNotificationArgs) => {
        requireMessage(notice, 'a verified channel notification');
        const mismatch = noticeMismatch(notice, {
          paymentId,
          channel: state.channel,
          merchantId: state.merchantId,
          amount: state.request.amount,
          currency: state.request.currency,
        });
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
    choosePaymentMethodUpdate,
    async (args) => {
      const sealed = await activity.verifyMessageSeal({
        kind: 'checkout-method',
        workflowId: paymentId,
        message: args,
      });
      if (!sealed) throw refusal(PaymentErrorCode.MessageNotSealed, 'a method is chosen through the checkout only');
      if (args.channel === state.channel && !state.closedChannels.has(args.channel)) return state.view();
      const request: NonNullable<typeof state.methodRequest> = { channel: args.channel };
      state.methodRequest = request;
      await condition(() => request.outcome !== undefined);
      if (state.methodRequest === request) state.methodRequest = null;
      const outcome = request.outcome;
      if (typeof outcome === 'object') throw refusal(PaymentErrorCode.MethodUnavailable, outcome.refused);
      return state.view();
    },
    {
      validator: (args: ChoosePaymentMethodArgs) => {
        requireMessage(args, '{ channel, seal }');
        if (!PAYMENT_CHANNELS.includes(args.channel)) {
          throw refusal(PaymentErrorCode.MethodUnavailable, `no such method: ${String(args.channel)}`);
        }
        const payable =
          state.status === 'awaiting_payment' && !state.paidNotice && !state.cancelRequest && !state.methodChoiceClosed;
        if (!payable) {
          throw refusal(
            PaymentErrorCode.MethodUnavailable,
            `payment ${paymentId} is ${state.status}: it takes no other method`,
          );
        }
        if (state.methodRequest !== null) {
          throw refusal(
            PaymentErrorCode.MethodUnavailable,
            `the switch to ${state.methodRequest.channel} is still under way`,
          );
        }
        if (state.closedChannels.has(args.channel)) {
          throw refusal(
            PaymentErrorCode.MethodUnavailable,
            `this payment's ${args.channel} order was closed when another method was chosen; choose another method`,
          );
        }
      },
    },
  );
  setHandler(
    cancelPaymentUpdate,
    async ({ reason }) => {
      state.cancelRequest ??= { reason: reason ?? 'canceled by the platform' };
      await condition(() => state.cancelDecided);
      if (state.status === 'canceled') return state.view();
      throw ApplicationFailure.create({
        type: PaymentErrorCode.NotCancelable,
        message:
          state.status === 'manual_review'
            ? `payment ${paymentId} needs review (${state.failureReason ?? 'see its timeline'}) and cannot be canceled`
            : `payment ${paymentId} was paid before it could be canceled`,
        nonRetryable: true,
      });
    },
    {
      validator: (args: CancelPaymentArgs) => {
        requireMessage(args, '{ reason? }');
        const cancelable = state.status === 'awaiting_payment' || state.status === 'risk_review';
        if (!cancelable || state.paidNotice !== null || state.cancelDecided) {
          throw ApplicationFailure.create({
            type: PaymentErrorCode.NotCancelable,
            message: `payment ${paymentId} is ${state.status === 'awaiting_payment' ? 'paid' : state.status} and cannot be canceled`,
            nonRetryable: true,
          });
        }
      },
    },
  );
}
