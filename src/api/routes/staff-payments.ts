import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { PaymentService } from '../../payments/service.js';
import { PAYMENT_CHANNELS, PAYMENT_STATUSES } from '../../../domain/payment.js';
import { REFUND_STATUSES } from '../../../domain/refunds.js';
import { methodNotAllowed } from '../errors.js';
import { createStaffReasonSchema, createStaffRefundRequestSchema } from '../schemas.js';
import { requireStaffPermission, staffOf } from '../staff-auth.js';
import { limitQuery } from './staff.js';
import { parseOrThrow } from '../validation.js';
import { paymentIdInLogs } from '../request-context.js';

export interface StaffPaymentRoutesDeps {
  payments: PaymentService;
  maxAmount: number;
}

export const paymentListSchema = z.strictObject({
  status: z.enum(PAYMENT_STATUSES).optional(),
  channel: z.enum(PAYMENT_CHANNELS).optional(),
  orderId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -')
    .optional(),
  needsAttention: z.enum(['true', 'false']).optional(),
  limit: limitQuery,
  cursor: z
    .string()
    .regex(/^pay_[a-z2-7]{28}$/, 'must be a paymentId from an earlier page')
    .optional(),
});
export const refundListSchema = z.strictObject({ status: z.enum(REFUND_STATUSES).optional(), limit: limitQuery });
export const nudgeSchema = createStaffReasonSchema().extend({
  refundId: z
    .string()
    .regex(/^rfd_[0-9a-f]{32}$/, 'must be a refund id')
    .optional(),
});
export const ticketSchema = z.strictObject({ action: z.enum(['approveRefund', 'rejectRefund']) });

/**
 * The staff API's payments and refunds, mounted at `/staff/v1` behind `staffAuth`. Reads come from
 * the read model; every action goes to the payment's workflows (which audit it) or, for a webhook
 * resend or a Web UI ticket, is audited by the payment service.
 */
export function staffPaymentRoutes({ payments, maxAmount }: StaffPaymentRoutesDeps): Router {
  const router = Router();
  const refundSchema = createStaffRefundRequestSchema({ maxAmount });
  const reasonSchema = createStaffReasonSchema();
  router.param('paymentId', paymentIdInLogs);

  router
    .route('/payments')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      const { needsAttention, limit, ...query } = parseOrThrow(paymentListSchema, req.query);
      res.json(
        await payments.listPayments({
          ...query,
          ...(needsAttention === undefined ? {} : { needsAttention: needsAttention === 'true' }),
          limit: limit ?? 50,
        }),
      );
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/payments/:paymentId')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      res.json(await payments.paymentDetail(req.params.paymentId));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/payments/:paymentId/refunds')
    .post(requireStaffPermission('refunds.request'), async (req, res) => {
      const request = parseOrThrow(refundSchema, req.body ?? {});
      const staff = staffOf(res);
      const refund = await payments.requestRefund(req.params.paymentId, request, {
        kind: 'staff',
        operator: staff.name,
        role: staff.role,
      });
      res.status(201).json(refund);
    })
    .all(methodNotAllowed(['POST']));

  for (const [path, kind, permission] of [
    ['requery', 'requeryChannel', 'payments.requery'],
    ['retry', 'retryNow', 'payments.retry'],
  ] as const) {
    router
      .route(`/payments/:paymentId/${path}`)
      .post(requireStaffPermission(permission), async (req, res) => {
        const { reason, refundId } = parseOrThrow(nudgeSchema, req.body ?? {});
        const result = await payments.nudge(req.params.paymentId, kind, staffOf(res), reason, refundId);
        res.json({ paymentId: req.params.paymentId, result });
      })
      .all(methodNotAllowed(['POST']));
  }

  const decideRisk = (decision: 'allow' | 'block') => async (req: Request, res: Response) => {
    const { reason } = parseOrThrow(reasonSchema, req.body ?? {});
    const result = await payments.decideRisk(String(req.params.paymentId), decision, staffOf(res), reason);
    res.json({ paymentId: req.params.paymentId, result });
  };
  router
    .route('/payments/:paymentId/allow')
    .post(requireStaffPermission('risk.decide'), decideRisk('allow'))
    .all(methodNotAllowed(['POST']));
  router
    .route('/payments/:paymentId/block')
    .post(requireStaffPermission('risk.decide'), decideRisk('block'))
    .all(methodNotAllowed(['POST']));

  router
    .route('/payments/:paymentId/resend-webhook')
    .post(requireStaffPermission('webhooks.resend'), async (req, res) => {
      const { reason } = parseOrThrow(reasonSchema, req.body ?? {});
      res.status(202).json(await payments.resendWebhook(req.params.paymentId, staffOf(res), reason));
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/refunds')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      const query = parseOrThrow(refundListSchema, req.query);
      res.json({
        refunds: await payments.listRefunds({
          ...(query.status ? { status: query.status } : {}),
          limit: query.limit ?? 50,
        }),
      });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/refunds/:refundId')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      res.json(await payments.findRefund(req.params.refundId));
    })
    .all(methodNotAllowed(['GET']));

  for (const decision of ['approve', 'reject'] as const) {
    router
      .route(`/refunds/:refundId/${decision}`)
      .post(requireStaffPermission('refunds.decide'), async (req, res) => {
        const { reason } = parseOrThrow(reasonSchema, req.body ?? {});
        res.json(await payments.decideRefund(req.params.refundId, decision === 'approve', staffOf(res), reason));
      })
      .all(methodNotAllowed(['POST']));
  }

  router
    .route('/refunds/:refundId/ticket')
    .post(requireStaffPermission('refunds.decide'), async (req, res) => {
      const { action } = parseOrThrow(ticketSchema, req.body ?? {});
      res.status(201).json(await payments.ticketForUi(req.params.refundId, action, staffOf(res)));
    })
    .all(methodNotAllowed(['POST']));

  return router;
}
