import { Router } from 'express';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { rankChannels } from '../../channels/routing.js';
import type { ChannelAdapter } from '../../channels/types.js';
import type { Models } from '../../db/connect.js';
import type { PaymentDocument } from '../../db/models/payment.js';
import {
  PAYMENT_ID_PATTERN,
  legacyPaymentIdForOrder,
  paymentIdForOrder,
  requestFingerprint,
} from '../../payments/identity.js';
import { publicPaymentView, viewFromDocument } from '../../payments/read-model.js';
import type { RefundService } from '../../payments/refunds.js';
import { isWorkflowClosedError } from '../../temporal/errors.js';
import { PaymentErrorCode } from '../../../domain/errors.js';
import type { PaymentChannel, PaymentView } from '../../../domain/payment.js';
import {
  cancelPaymentUpdate,
  getPaymentQuery,
  openPaymentUpdate,
  type PaymentWorkflowInput,
} from '../../../workflows/contracts.js';
import type { paymentWorkflow } from '../../../workflows/payment.js';
import {
  OrderIdKey,
  PaymentAmountKey,
  PaymentCurrencyKey,
  PaymentStatusKey,
} from '../../../workflows/search-attributes.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { createCancelRequestSchema, createPaymentRequestSchema, createRefundRequestSchema } from '../schemas.js';
import { IDEMPOTENCY_HEADER } from '../idempotency.js';
import { parseOrThrow } from '../validation.js';

export interface PaymentRoutesDeps {
  client: Client;
  models: Models;
  taskQueue: string;
  maxAmount: number;
  channels: Record<PaymentChannel, ChannelAdapter>;
  enabledChannels: readonly PaymentChannel[];
  refunds: RefundService;
  /** The keyring's `paymentIdKey`: payment ids are a keyed MAC of the order id. */
  paymentIdKey: string;
  /** When a payment asks for people about a failing channel or webhook endpoint. */
  attention: NonNullable<PaymentWorkflowInput['attention']>;
}

/** The platform-facing answer to a create: what the learner needs to go and pay. */
function createResponse(view: PaymentView) {
  return {
    paymentId: view.paymentId,
    orderId: view.orderId,
    status: view.status,
    amount: view.amount,
    currency: view.currency,
    channel: view.channel,
    payUrl: view.payUrl,
    expiresAt: view.expiresAt,
  };
}

const orderConflict = (orderId: string) =>
  new ApiError(
    409,
    'conflict_error',
    'order_conflict',
    `Order ${orderId} already has a payment with different parameters.`,
    'orderId',
  );

/** A payment that could not be opened keeps its order id: the platform must use a new one. */
const notOpened = (view: PaymentView) =>
  new ApiError(
    503,
    'service_unavailable_error',
    PaymentErrorCode.ChannelsUnavailable,
    `Payment ${view.paymentId} could not be opened: ${view.failureReason ?? 'no channel was available'}. Retry later with a new orderId.`,
  );

function failureType(err: unknown): string | undefined {
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure
    ? (err.cause.type ?? undefined)
    : undefined;
}

export function paymentRoutes({
  client,
  models,
  taskQueue,
  maxAmount,
  channels,
  enabledChannels,
  refunds,
  paymentIdKey,
  attention,
}: PaymentRoutesDeps): Router {
  const router = Router();
  const schema = createPaymentRequestSchema({ maxAmount });
  const cancelSchema = createCancelRequestSchema();
  const refundSchema = createRefundRequestSchema({ maxAmount });
  const findPayment = (paymentId: string) => models.payments.findOne({ _id: paymentId }).lean<PaymentDocument>();
  /** The order's payment id: the keyed one, unless the order already has a payment from before keyed ids. */
  const paymentIdOf = async (orderId: string): Promise<string> => {
    const legacy = legacyPaymentIdForOrder(orderId);
    return (await models.payments.exists({ _id: legacy })) ? legacy : paymentIdForOrder(orderId, paymentIdKey);
  };
  const paymentNotFound = (paymentId: string) =>
    new ApiError(404, 'not_found_error', 'payment_not_found', `No payment ${paymentId}.`, 'paymentId');

  router
    .route('/')
    .post(async (req, res) => {
      const request = parseOrThrow(schema, req.body);
      if (rankChannels(channels, enabledChannels, request).length === 0) {
        throw new ApiError(
          422,
          'validation_error',
          'no_channel_available',
          `No enabled channel takes ${request.amount} minor units of ${request.currency}${request.channel ? ` (preferred ${request.channel})` : ''}.`,
          'currency',
        );
      }
      const paymentId = await paymentIdOf(request.orderId);
      const fingerprint = requestFingerprint(request);
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentWorkflow>('paymentWorkflow', {
        workflowId: paymentId,
        taskQueue,
        args: [
          { paymentId, request, requestFingerprint: fingerprint, acceptedAt: new Date().toISOString(), attention },
        ],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Order ${request.orderId}: ${request.amount} ${request.currency}${request.channel ? ` by ${request.channel}` : ''}`,
        typedSearchAttributes: [
          { key: OrderIdKey, value: request.orderId },
          { key: PaymentStatusKey, value: 'processing' },
          { key: PaymentAmountKey, value: request.amount },
          { key: PaymentCurrencyKey, value: request.currency },
        ],
      });
      let view: PaymentView;
      let created = false;
      try {
        const result = await client.workflow.executeUpdateWithStart(openPaymentUpdate, {
          args: [{ requestFingerprint: fingerprint }],
          startWorkflowOperation,
        });
        view = result.payment;
        created = result.created;
      } catch (err) {
        if (failureType(err) === PaymentErrorCode.OrderConflict) throw orderConflict(request.orderId);
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        // The payment's workflow has already closed: answer from the read model.
        const doc = await findPayment(paymentId);
        if (!doc) throw err;
        if (doc.requestFingerprint !== fingerprint) throw orderConflict(request.orderId);
        view = viewFromDocument(doc);
      }
      if (view.status === 'failed') throw notOpened(view);
      res.status(created ? 201 : 200).json(createResponse(view));
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/:paymentId')
    .get(async (req, res) => {
      const { paymentId } = req.params;
      if (!PAYMENT_ID_PATTERN.test(paymentId)) throw paymentNotFound(paymentId);
      const handle = client.workflow.getHandle(paymentId);
      try {
        const { status } = await handle.describe();
        if (status.name === 'RUNNING') {
          res.json(publicPaymentView(await handle.query(getPaymentQuery)));
          return;
        }
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      const doc = await findPayment(paymentId);
      if (!doc) throw paymentNotFound(paymentId);
      res.json(publicPaymentView(viewFromDocument(doc)));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/refunds')
    .post(async (req, res) => {
      const request = parseOrThrow(refundSchema, req.body ?? {});
      const key = req.get(IDEMPOTENCY_HEADER);
      const refund = await refunds.requestRefund(
        req.params.paymentId,
        request,
        { kind: 'platform' },
        key === undefined ? undefined : `${String(res.locals.platformKeyId)}:${key}`,
      );
      res.status(201).json(refund);
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/:paymentId/refunds/:refundId')
    .get(async (req, res) => {
      res.json(await refunds.getRefund(req.params.paymentId, req.params.refundId));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/cancel')
    .post(async (req, res) => {
      const { paymentId } = req.params;
      const args = parseOrThrow(cancelSchema, req.body ?? {});
      if (!PAYMENT_ID_PATTERN.test(paymentId)) throw paymentNotFound(paymentId);
      try {
        const view = await client.workflow
          .getHandle(paymentId)
          .executeUpdate(cancelPaymentUpdate, { args: [args.reason ? { reason: args.reason } : {}] });
        res.json(view);
        return;
      } catch (err) {
        if (failureType(err) === PaymentErrorCode.NotCancelable) {
          // A repeated cancel of a canceled payment answers like the first one did.
          const current = await client.workflow
            .getHandle(paymentId)
            .query(getPaymentQuery)
            .catch(() => undefined);
          if (current?.status === 'canceled') {
            res.json(current);
            return;
          }
          if (current) {
            throw new ApiError(
              409,
              'conflict_error',
              PaymentErrorCode.NotCancelable,
              `Payment ${paymentId} is ${current.status === 'awaiting_payment' ? 'paid' : current.status} and cannot be canceled.`,
            );
          }
        } else if (!isWorkflowClosedError(err)) {
          throw err;
        }
      }
      const doc = await findPayment(paymentId);
      if (!doc) throw paymentNotFound(paymentId);
      if (doc.status === 'canceled') {
        res.json(viewFromDocument(doc));
        return;
      }
      throw new ApiError(
        409,
        'conflict_error',
        PaymentErrorCode.NotCancelable,
        `Payment ${paymentId} is ${doc.status} and cannot be canceled.`,
      );
    })
    .all(methodNotAllowed(['POST']));

  return router;
}
