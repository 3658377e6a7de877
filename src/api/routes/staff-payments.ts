import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { WebhookEvent, WebhookEventType } from '../../../domain/webhooks.js';
import type { Models } from '../../db/connect.js';
import type { PaymentDocument } from '../../db/models/payment.js';
import { PAYMENT_ID_PATTERN } from '../../payments/identity.js';
import { publicPaymentView, viewFromDocument } from '../../payments/read-model.js';
import type { RefundService } from '../../payments/refunds.js';
import { listAudit, recordAudit } from '../../staff/audit.js';
import { PAYMENT_CHANNELS, PAYMENT_STATUSES, type PaymentStatus } from '../../../domain/payment.js';
import { REFUND_STATUSES } from '../../../domain/refunds.js';
import type { webhookResendWorkflow } from '../../../workflows/webhook-resend.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { createStaffReasonSchema, createStaffRefundRequestSchema } from '../schemas.js';
import { requireStaffPermission, staffOf } from '../staff-auth.js';
import { limitQuery } from './staff.js';
import { parseOrThrow } from '../validation.js';

export interface StaffPaymentRoutesDeps {
  client: Client;
  models: Models;
  refunds: RefundService;
  taskQueue: string;
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
export const nudgeSchema = z.strictObject({
  reason: z.string().min(1).max(256),
  refundId: z
    .string()
    .regex(/^rfd_[0-9a-f]{32}$/, 'must be a refund id')
    .optional(),
});
export const ticketSchema = z.strictObject({ action: z.enum(['approveRefund', 'rejectRefund']) });

/** What needs people: a payment in manual review, or a refund waiting for review or failing. */
function needsAttention(doc: PaymentDocument): boolean {
  return (
    doc.status === 'manual_review' ||
    doc.refunds.some((r) => r.status === 'pending_review' || (r.status === 'processing' && Boolean(r.failureReason)))
  );
}

/** The webhook a payment's status last sent. */
const LAST_EVENT: Partial<Record<PaymentStatus, WebhookEventType>> = {
  succeeded: 'payment.succeeded',
  failed: 'payment.failed',
  expired: 'payment.expired',
  canceled: 'payment.canceled',
  refunded: 'payment.refunded',
  partially_refunded: 'payment.succeeded',
};

/**
 * The staff API's payments and refunds, mounted at `/staff/v1` behind `staffAuth`. Reads come from
 * the read model; every action goes to the payment's workflows (which audit it) or, for a webhook
 * resend, is audited here.
 */
export function staffPaymentRoutes({ client, models, refunds, taskQueue, maxAmount }: StaffPaymentRoutesDeps): Router {
  const router = Router();
  const refundSchema = createStaffRefundRequestSchema({ maxAmount });
  const reasonSchema = createStaffReasonSchema();
  const paymentDoc = async (paymentId: string) => {
    const doc = PAYMENT_ID_PATTERN.test(paymentId)
      ? await models.payments.findOne({ _id: paymentId }).lean<PaymentDocument>()
      : null;
    if (!doc) throw new ApiError(404, 'not_found_error', 'payment_not_found', `No payment ${paymentId}.`, 'paymentId');
    return doc;
  };

  router
    .route('/payments')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      const query = parseOrThrow(paymentListSchema, req.query);
      const limit = query.limit ?? 50;
      const filter: Record<string, unknown> = {};
      if (query.status) filter.status = query.status;
      if (query.channel) filter.channel = query.channel;
      if (query.orderId) filter.orderId = query.orderId;
      if (query.cursor) filter._id = { $gt: query.cursor };
      const docs = await models.payments.find(filter).sort({ _id: 1 }).lean<PaymentDocument[]>();
      const wanted =
        query.needsAttention === undefined
          ? docs
          : docs.filter((d) => needsAttention(d) === (query.needsAttention === 'true'));
      const page = wanted.slice(0, limit);
      res.json({
        payments: page.map((doc) => ({
          ...publicPaymentView(viewFromDocument(doc)),
          timeline: undefined,
          needsAttention: needsAttention(doc),
        })),
        nextCursor: wanted.length > limit ? (page.at(-1)?._id ?? null) : null,
      });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/payments/:paymentId')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      const doc = await paymentDoc(req.params.paymentId);
      const audit = await listAudit(models, { paymentId: doc.paymentId, limit: 200 });
      res.json({
        payment: { ...publicPaymentView(viewFromDocument(doc)), needsAttention: needsAttention(doc) },
        audit: audit.map((e) => ({ ...e, at: e.at.toISOString() })),
      });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/payments/:paymentId/refunds')
    .post(requireStaffPermission('refunds.request'), async (req, res) => {
      const request = parseOrThrow(refundSchema, req.body ?? {});
      const staff = staffOf(res);
      const refund = await refunds.requestRefund(req.params.paymentId, request, {
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
        const result = await refunds.nudge(req.params.paymentId, kind, staffOf(res), reason, refundId);
        res.json({ paymentId: req.params.paymentId, result });
      })
      .all(methodNotAllowed(['POST']));
  }

  router
    .route('/payments/:paymentId/resend-webhook')
    .post(requireStaffPermission('webhooks.resend'), async (req, res) => {
      const { reason } = parseOrThrow(reasonSchema, req.body ?? {});
      const doc = await paymentDoc(req.params.paymentId);
      const type = LAST_EVENT[doc.status];
      if (!type) {
        throw new ApiError(
          409,
          'conflict_error',
          'nothing_to_do',
          `Payment ${doc.paymentId} is ${doc.status}: it has sent no final webhook yet.`,
        );
      }
      const view = publicPaymentView(viewFromDocument(doc));
      const event: WebhookEvent = {
        id: `evt_${doc.paymentId}_${type.replace('payment.', '')}`,
        type,
        createdAt: new Date().toISOString(),
        data: { ...view, timeline: undefined },
      };
      const staff = staffOf(res);
      const resendId = `${doc.paymentId}-resend-${randomUUID()}`;
      await client.workflow.start<typeof webhookResendWorkflow>('webhookResendWorkflow', {
        workflowId: resendId,
        taskQueue,
        args: [{ event }],
        staticSummary: `Resend ${type} of order ${doc.orderId} (asked by ${staff.name})`,
      });
      await recordAudit(models, {
        operator: staff.name,
        role: staff.role,
        via: 'api',
        action: 'webhook.resend',
        target: `payment:${doc.paymentId}`,
        paymentId: doc.paymentId,
        reason,
        after: { eventId: event.id, type, workflowId: resendId },
      });
      res.status(202).json({ paymentId: doc.paymentId, eventId: event.id, type, workflowId: resendId });
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/refunds')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      const query = parseOrThrow(refundListSchema, req.query);
      res.json({
        refunds: await refunds.listRefunds({
          ...(query.status ? { status: query.status } : {}),
          limit: query.limit ?? 50,
        }),
      });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/refunds/:refundId')
    .get(requireStaffPermission('payments.read'), async (req, res) => {
      res.json(await refunds.findRefund(req.params.refundId));
    })
    .all(methodNotAllowed(['GET']));

  for (const decision of ['approve', 'reject'] as const) {
    router
      .route(`/refunds/:refundId/${decision}`)
      .post(requireStaffPermission('refunds.decide'), async (req, res) => {
        const { reason } = parseOrThrow(reasonSchema, req.body ?? {});
        res.json(await refunds.decideRefund(req.params.refundId, decision === 'approve', staffOf(res), reason));
      })
      .all(methodNotAllowed(['POST']));
  }

  router
    .route('/refunds/:refundId/ticket')
    .post(requireStaffPermission('refunds.decide'), async (req, res) => {
      const { action } = parseOrThrow(ticketSchema, req.body ?? {});
      const staff = staffOf(res);
      const ticket = await refunds.ticketForUi(req.params.refundId, action, staff);
      await recordAudit(models, {
        operator: staff.name,
        role: staff.role,
        via: 'api',
        action: 'refund.ticket',
        target: `refund:${req.params.refundId}`,
        refundId: req.params.refundId,
        reason: `ticket for ${action} in the Temporal Web UI`,
        after: { action, expiresAt: ticket.expiresAt },
      });
      res.status(201).json(ticket);
    })
    .all(methodNotAllowed(['POST']));

  return router;
}
