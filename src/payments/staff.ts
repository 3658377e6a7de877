import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Models } from '../db/connect.js';
import type { PaymentDocument } from '../db/models/payment.js';
import { listAudit, recordAudit } from '../staff/audit.js';
import type { PaymentChannel, PaymentStatus } from '../../domain/payment.js';
import type { WebhookEvent, WebhookEventType } from '../../domain/webhooks.js';
import type { webhookResendWorkflow } from '../../workflows/webhook-resend.js';
import { nothingToDo } from './failures.js';
import { paymentDocument, publicPaymentView, viewFromDocument } from './read-model.js';
import type { StaffIdentity } from './refunds.js';

export interface StaffOperationsDeps {
  client: Client;
  models: Models;
  /** Opens the read model's encrypted fields (timeline details). */
  fieldCipher: FieldCipher;
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>;
}

export interface PaymentListFilter {
  status?: PaymentStatus;
  channel?: PaymentChannel;
  orderId?: string;
  /** Only the payments that need people (`true`), or only those that do not (`false`). */
  needsAttention?: boolean;
  /** The last payment id of the page before. */
  cursor?: string;
  limit: number;
}

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
 * The staff API's payment reads and webhook resends (part of the payment service,
 * src/payments/service.ts). Reads come from the read model; a resend runs in a workflow of its own
 * and is audited here.
 */
export function createStaffOperations({ client, models, config, fieldCipher }: StaffOperationsDeps) {
  return {
    /** A page of payments by id, with whether each needs people. */
    async listPayments(filter: PaymentListFilter) {
      const query: Record<string, unknown> = {};
      if (filter.status) query.status = filter.status;
      if (filter.channel) query.channel = filter.channel;
      if (filter.orderId) query.orderId = filter.orderId;
      if (filter.cursor) query._id = { $gt: filter.cursor };
      const docs = await models.payments.find(query).sort({ _id: 1 }).lean<PaymentDocument[]>();
      const wanted =
        filter.needsAttention === undefined ? docs : docs.filter((d) => needsAttention(d) === filter.needsAttention);
      const page = wanted.slice(0, filter.limit);
      return {
        payments: page.map((doc) => ({
          ...publicPaymentView(viewFromDocument(doc, fieldCipher)),
          timeline: undefined,
          needsAttention: needsAttention(doc),
        })),
        nextCursor: wanted.length > filter.limit ? (page.at(-1)?._id ?? null) : null,
      };
    },

    /** A payment with its audit trail and the platform key that opened it. */
    async paymentDetail(paymentId: string) {
      const doc = await paymentDocument(models, paymentId);
      const audit = await listAudit(models, { paymentId: doc.paymentId, limit: 200 });
      return {
        payment: {
          ...publicPaymentView(viewFromDocument(doc, fieldCipher)),
          needsAttention: needsAttention(doc),
          createdByKeyId: doc.createdByKeyId ?? null,
        },
        audit: audit.map((e) => ({ ...e, at: e.at.toISOString() })),
      };
    },

    /** Sends the payment's last final webhook again, in a workflow of its own. */
    async resendWebhook(paymentId: string, staff: StaffIdentity, reason: string) {
      const doc = await paymentDocument(models, paymentId);
      const type = LAST_EVENT[doc.status];
      if (!type) throw nothingToDo(`Payment ${doc.paymentId} is ${doc.status}: it has sent no final webhook yet.`);
      const view = publicPaymentView(viewFromDocument(doc, fieldCipher));
      const event: WebhookEvent = {
        id: `evt_${doc.paymentId}_${type.replace('payment.', '')}`,
        type,
        createdAt: new Date().toISOString(),
        data: { ...view, timeline: undefined },
      };
      const resendId = `${doc.paymentId}-resend-${randomUUID()}`;
      await client.workflow.start<typeof webhookResendWorkflow>('webhookResendWorkflow', {
        workflowId: resendId,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
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
      return { paymentId: doc.paymentId, eventId: event.id, type, workflowId: resendId };
    },
  };
}
