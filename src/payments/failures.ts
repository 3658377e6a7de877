import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ApiError, isApiErrorCode } from '../api/errors.js';
import { isWorkflowClosedError } from '../temporal/errors.js';
import { PaymentErrorCode } from '../../domain/errors.js';
import type { PaymentRequest, PaymentView } from '../../domain/payment.js';

/**
 * What went wrong with a message to a workflow, or a workflow start: the one place that reads
 * Temporal's errors. The payment service decides from it what to answer (a read-model answer, a
 * retry, an API error); `other` is a failure nobody answers for, left to the API's 500 or 503.
 */
export type WorkflowFailure =
  /** The workflow refused the message: an `ApplicationFailure` from its validator or handler. */
  | { kind: 'refused'; type: string | undefined; message: string }
  /** A start met a run with the same id that has already closed (the id is not reused). */
  | { kind: 'already_started' }
  /** The run has closed; `noRun` when Temporal answered that there is no such workflow at all. */
  | { kind: 'closed'; noRun: boolean }
  | { kind: 'other' };

export function workflowFailure(err: unknown): WorkflowFailure {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    return { kind: 'refused', type: err.cause.type ?? undefined, message: err.cause.message };
  }
  if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'already_started' };
  if (isWorkflowClosedError(err)) return { kind: 'closed', noRun: err instanceof WorkflowNotFoundError };
  return { kind: 'other' };
}

/**
 * The refusals the API answers as the workflow words them, each with its status and the field it
 * concerns. Other refusals are answered by the operation that expects them (an order conflict, a
 * cancel of a paid payment), or not at all.
 */
const REFUSALS: Record<string, { status: number; type: ApiError['type']; param?: string }> = {
  [PaymentErrorCode.PaymentNotFound]: { status: 404, type: 'not_found_error', param: 'paymentId' },
  [PaymentErrorCode.PaymentNotRefundable]: { status: 409, type: 'conflict_error' },
  [PaymentErrorCode.RefundExceedsRefundable]: { status: 422, type: 'validation_error', param: 'amount' },
  [PaymentErrorCode.RefundNotFound]: { status: 404, type: 'not_found_error', param: 'refundId' },
  [PaymentErrorCode.RefundNotPendingReview]: { status: 409, type: 'conflict_error' },
  [PaymentErrorCode.FourEyesRequired]: { status: 403, type: 'permission_error' },
  [PaymentErrorCode.StaffTicketInvalid]: { status: 403, type: 'permission_error' },
  [PaymentErrorCode.NothingToDo]: { status: 409, type: 'conflict_error' },
  [PaymentErrorCode.MethodUnavailable]: { status: 409, type: 'conflict_error', param: 'channel' },
};

/** A workflow's refusal as the API's error, when it is one of `REFUSALS`. */
export function refusalError(failure: WorkflowFailure): ApiError | undefined {
  if (failure.kind !== 'refused' || !failure.type || !isApiErrorCode(failure.type)) return undefined;
  const refusal = REFUSALS[failure.type];
  if (!refusal) return undefined;
  return new ApiError(
    refusal.status,
    refusal.type,
    failure.type,
    `${failure.message.replace(/\.$/, '')}.`,
    refusal.param,
  );
}

/** Throws the API's error for a workflow's refusal of a message; anything else is rethrown as it is. */
export function asApiError(err: unknown): never {
  throw refusalError(workflowFailure(err)) ?? err;
}

// The errors the payment service answers of itself.

export const paymentNotFound = (paymentId: string) =>
  new ApiError(404, 'not_found_error', PaymentErrorCode.PaymentNotFound, `No payment ${paymentId}.`, 'paymentId');

export const refundNotFound = (refundId: string) =>
  new ApiError(404, 'not_found_error', PaymentErrorCode.RefundNotFound, `No refund ${refundId}.`, 'refundId');

/**
 * No enabled channel takes the payment; `offers` are the currencies some channel takes at this
 * amount, and which, so the platform knows what would work.
 */
export const noChannelAvailable = (
  request: Pick<PaymentRequest, 'amount' | 'currency' | 'channel'>,
  offers: readonly { currency: string; channels: readonly string[] }[] = [],
) =>
  new ApiError(
    422,
    'validation_error',
    'no_channel_available',
    `No enabled channel takes ${request.amount} minor units of ${request.currency}${request.channel ? ` (preferred ${request.channel})` : ''}.` +
      (offers.length > 0
        ? ` At this amount: ${offers.map((o) => `${o.currency} by ${o.channels.join(', ')}`).join('; ')}.`
        : ' No enabled channel takes this amount in any currency; check PAYMENT_MAX_AMOUNT and the enabled channels.'),
    'currency',
  );

/** A `returnUrl` whose origin the platform did not configure (`PLATFORM_RETURN_ORIGINS`). */
export const returnUrlNotAllowed = (origin: string, anyConfigured: boolean) =>
  new ApiError(
    422,
    'validation_error',
    'return_url_not_allowed',
    anyConfigured
      ? `returnUrl's origin ${origin} is not one of PLATFORM_RETURN_ORIGINS; use a configured origin or add it there.`
      : `returnUrl needs PLATFORM_RETURN_ORIGINS: no return origin is configured, so the checkout links back nowhere.`,
    'returnUrl',
  );

/** A payment whose settlement amount at the quoted rate would be too large to count: retrying cannot help. */
export const amountNotConvertible = (why: string) =>
  new ApiError(
    422,
    'validation_error',
    'invalid_parameter',
    `amount cannot be settled in the settlement currency: ${why}.`,
    'amount',
  );

/** No exchange quote could be locked for a payment outside the settlement currency; safe to retry. */
export const fxRateUnavailable = (why: string) =>
  new ApiError(
    503,
    'service_unavailable_error',
    'fx_rate_unavailable',
    `No exchange quote could be locked: ${why}. Retry the same request later.`,
  );

export const orderConflict = (orderId: string) =>
  new ApiError(
    409,
    'conflict_error',
    PaymentErrorCode.OrderConflict,
    `Order ${orderId} already has a payment with different parameters.`,
    'orderId',
  );

/** A payment that could not be opened keeps its order id: the platform must use a new one. */
export const notOpened = (view: PaymentView) =>
  new ApiError(
    503,
    'service_unavailable_error',
    PaymentErrorCode.ChannelsUnavailable,
    `Payment ${view.paymentId} could not be opened: ${view.failureReason ?? 'no channel was available'}. Retry later with a new orderId.`,
  );

export const riskBlocked = (view: PaymentView) =>
  new ApiError(
    403,
    'permission_error',
    PaymentErrorCode.RiskBlocked,
    `Payment ${view.paymentId} was refused by the risk check; nothing was opened at any channel. Contact the payment provider's support with the payment id.`,
  );

/** `state` is the payment's status, or `paid` for one the learner has paid but that is not settled yet. */
export const notCancelable = (paymentId: string, state: string) =>
  new ApiError(
    409,
    'conflict_error',
    PaymentErrorCode.NotCancelable,
    `Payment ${paymentId} is ${state} and cannot be canceled.`,
  );

export const notRefundable = (paymentId: string, status: string) =>
  new ApiError(
    409,
    'conflict_error',
    PaymentErrorCode.PaymentNotRefundable,
    `Payment ${paymentId} is ${status}; only succeeded or partially refunded payments can be refunded.`,
  );

/** A staff action that does not apply to the payment as it is; `message` says why. */
export const nothingToDo = (message: string) =>
  new ApiError(409, 'conflict_error', PaymentErrorCode.NothingToDo, message);

/** The learner's choice of a method on the hosted checkout that cannot be taken now; `message` says why. */
export const methodUnavailable = (message: string) =>
  new ApiError(409, 'conflict_error', PaymentErrorCode.MethodUnavailable, message, 'channel');
