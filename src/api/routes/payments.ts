import { Router } from 'express';
import type { PaymentService } from '../../payments/service.js';
import { methodNotAllowed } from '../errors.js';
import { createCancelRequestSchema, createPaymentRequestSchema, createRefundRequestSchema } from '../schemas.js';
import { IDEMPOTENCY_HEADER } from '../idempotency.js';
import { parseOrThrow } from '../validation.js';
import { paymentIdInLogs } from '../request-context.js';

export interface PaymentRoutesDeps {
  payments: PaymentService;
  maxAmount: number;
}

/** The platform's payments and refunds, mounted at `/v1/payments` behind the platform's signature. */
export function paymentRoutes({ payments, maxAmount }: PaymentRoutesDeps): Router {
  const router = Router();
  const schema = createPaymentRequestSchema({ maxAmount });
  const cancelSchema = createCancelRequestSchema();
  const refundSchema = createRefundRequestSchema({ maxAmount });
  router.param('paymentId', paymentIdInLogs);

  router
    .route('/')
    .post(async (req, res) => {
      const request = parseOrThrow(schema, req.body);
      const { created, payment } = await payments.open(request, String(res.locals.platformKeyId));
      res.status(created ? 201 : 200).json(payment);
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/:paymentId')
    .get(async (req, res) => {
      res.json(await payments.read(req.params.paymentId));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/refunds')
    .post(async (req, res) => {
      const request = parseOrThrow(refundSchema, req.body ?? {});
      const key = req.get(IDEMPOTENCY_HEADER);
      const refund = await payments.requestRefund(
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
      res.json(await payments.getRefund(req.params.paymentId, req.params.refundId));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:paymentId/cancel')
    .post(async (req, res) => {
      const { reason } = parseOrThrow(cancelSchema, req.body ?? {});
      res.json(await payments.cancel(req.params.paymentId, reason));
    })
    .all(methodNotAllowed(['POST']));

  return router;
}
