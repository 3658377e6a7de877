import { Router } from 'express';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Models } from '../../db/connect.js';
import type { PaymentDocument } from '../../db/models/payment.js';
import { PAYMENT_ID_PATTERN, paymentIdForOrder, requestFingerprint } from '../../payments/identity.js';
import {
  PaymentErrorCode,
  getPaymentQuery,
  openPaymentUpdate,
  type PaymentView,
} from '../../../workflows/contracts.js';
import type { paymentWorkflow } from '../../../workflows/payment.js';
import { OrderIdKey, PaymentStatusKey } from '../../../workflows/search-attributes.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { createPaymentRequestSchema } from '../schemas.js';
import { parseOrThrow } from '../validation.js';

export interface PaymentRoutesDeps {
  client: Client;
  models: Models;
  taskQueue: string;
  maxAmount: number;
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
    payUrl: null,
    expiresAt: view.expiresAt,
  };
}

function viewFromDocument(doc: PaymentDocument): PaymentView {
  return {
    paymentId: doc.paymentId,
    orderId: doc.orderId,
    status: doc.status,
    amount: doc.amount,
    currency: doc.currency,
    channel: doc.channel ?? null,
    channelTradeNo: doc.channelTradeNo ?? null,
    expiresAt: doc.expiresAt.toISOString(),
    voucher: null,
    refunds: [],
    timeline: doc.timeline.map((t) => ({
      at: t.at.toISOString(),
      event: t.event,
      ...(t.detail ? { detail: t.detail } : {}),
    })),
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

function isOrderConflict(err: unknown): boolean {
  return (
    err instanceof WorkflowUpdateFailedError &&
    err.cause instanceof ApplicationFailure &&
    err.cause.type === PaymentErrorCode.OrderConflict
  );
}

export function paymentRoutes({ client, models, taskQueue, maxAmount }: PaymentRoutesDeps): Router {
  const router = Router();
  const schema = createPaymentRequestSchema({ maxAmount });

  router
    .route('/')
    .post(async (req, res) => {
      const request = parseOrThrow(schema, req.body);
      const paymentId = paymentIdForOrder(request.orderId);
      const fingerprint = requestFingerprint(request);
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentWorkflow>('paymentWorkflow', {
        workflowId: paymentId,
        taskQueue,
        args: [{ paymentId, request, requestFingerprint: fingerprint, acceptedAt: new Date().toISOString() }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: OrderIdKey, value: request.orderId },
          { key: PaymentStatusKey, value: 'processing' },
        ],
      });
      try {
        const result = await client.workflow.executeUpdateWithStart(openPaymentUpdate, {
          args: [{ requestFingerprint: fingerprint }],
          startWorkflowOperation,
        });
        res.status(result.created ? 201 : 200).json(createResponse(result.payment));
      } catch (err) {
        if (isOrderConflict(err)) throw orderConflict(request.orderId);
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        // The payment's workflow has already closed: answer from the read model.
        const doc = await models.payments.findOne({ paymentId }).lean<PaymentDocument>();
        if (!doc) throw err;
        if (doc.requestFingerprint !== fingerprint) throw orderConflict(request.orderId);
        res.status(200).json(createResponse(viewFromDocument(doc)));
      }
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/:paymentId')
    .get(async (req, res) => {
      const { paymentId } = req.params;
      const notFound = new ApiError(
        404,
        'not_found_error',
        'payment_not_found',
        `No payment ${paymentId}.`,
        'paymentId',
      );
      if (!PAYMENT_ID_PATTERN.test(paymentId)) throw notFound;
      const handle = client.workflow.getHandle(paymentId);
      try {
        const { status } = await handle.describe();
        if (status.name === 'RUNNING') {
          res.json(await handle.query(getPaymentQuery));
          return;
        }
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      const doc = await models.payments.findOne({ paymentId }).lean<PaymentDocument>();
      if (!doc) throw notFound;
      res.json(viewFromDocument(doc));
    })
    .all(methodNotAllowed(['GET']));

  return router;
}
