import { PaymentErrorCode } from '../../domain/errors.js';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { WORKFLOW_TASK_TIMEOUT } from '../temporal/client.js';
import type { Config } from '../config.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Models } from '../db/connect.js';
import { recordAudit } from '../staff/audit.js';
import type { MessageSealer } from '../temporal/message-seal.js';
import {
  requeryChannelUpdate,
  retryNowUpdate,
  type StaffNudgeArgs,
  allowPaymentUpdate,
  blockPaymentUpdate,
} from '../../workflows/contracts.js';
import type { Currency } from '../../domain/money.js';
import type { RefundItem } from '../../domain/payment.js';
import type { RefundRequester, RefundView } from '../../domain/refunds.js';
import {
  approveRefundUpdate,
  refundsWorkflowId,
  type RefundsWorkflowInput,
  rejectRefundUpdate,
  type RequestRefundArgs,
  requestRefundUpdate,
} from '../../workflows/refund-contracts.js';
import type { paymentRefundsWorkflow } from '../../workflows/refunds.js';
import {
  OrderIdKey,
  PaymentAmountKey,
  PaymentCurrencyKey,
  PaymentStatusKey,
} from '../../workflows/search-attributes.js';
import { asApiError, notRefundable, nothingToDo, refundNotFound, workflowFailure } from './failures.js';
import { paymentDocument } from './read-model.js';

/** Who acts, as the staff API authenticated them. */
export interface StaffIdentity {
  name: string;
  role: string;
}

export interface RefundServiceDeps {
  client: Client;
  models: Models;
  fieldCipher: FieldCipher;
  sealer: MessageSealer;
  config: Pick<
    Config,
    | 'TEMPORAL_TASK_QUEUE'
    | 'REFUND_REVIEW_ABOVE_AMOUNT'
    | 'REFUND_REVIEW_AFTER_DAYS'
    | 'REFUND_QUERY_SCHEDULE_SECONDS'
    | 'REFUNDS_IDLE_SECONDS'
  >;
}

/** How long a staff ticket for the Web UI's Update form stays valid. */
const TICKET_TTL_MS = 10 * 60 * 1000;
/** How long a refund request waits for a paid payment's last read-model write, and how often it looks. */
const SETTLE_WAIT_MS = 5_000;
const SETTLE_POLL_MS = 200;
const REFUND_ID_PATTERN = /^rfd_[0-9a-f]{32}$/;

/**
 * Refunds after the sale, for the platform API and the staff API alike (part of the payment
 * service, src/payments/service.ts): requests go to the payment's refunds workflow (started on
 * first use with update-with-start, so concurrent first requests share one ledger), reads come
 * from the read model, and workflow refusals become API errors by src/payments/failures.ts.
 */
export function createRefundService({ client, models, fieldCipher, sealer, config }: RefundServiceDeps) {
  const timing = {
    queryScheduleMs: config.REFUND_QUERY_SCHEDULE_SECONDS.split(',').map((s) => Math.round(Number(s) * 1000)),
  };

  function startOperation(doc: {
    paymentId: string;
    orderId: string;
    amount: number;
    currency: Currency;
    status: string;
  }) {
    const input: RefundsWorkflowInput = {
      paymentId: doc.paymentId,
      timing,
      idleMs: config.REFUNDS_IDLE_SECONDS * 1000,
    };
    return new WithStartWorkflowOperation<typeof paymentRefundsWorkflow>('paymentRefundsWorkflow', {
      workflowId: refundsWorkflowId(doc.paymentId),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `Refunds of order ${doc.orderId} (${doc.amount} ${doc.currency})`,
      typedSearchAttributes: [
        { key: OrderIdKey, value: doc.orderId },
        { key: PaymentStatusKey, value: doc.status },
        { key: PaymentAmountKey, value: doc.amount },
        { key: PaymentCurrencyKey, value: doc.currency },
      ],
    });
  }

  /**
   * Runs `send` against the payment's refunds workflow, starting it if it is not running. A run
   * that ended just as the message arrived is started again once (its state is in the read model).
   */
  async function withRefundsWorkflow<T>(
    doc: Parameters<typeof startOperation>[0],
    send: (op: WithStartWorkflowOperation<typeof paymentRefundsWorkflow>) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await send(startOperation(doc));
      } catch (err) {
        if (attempt === 0 && workflowFailure(err).kind === 'closed') continue;
        asApiError(err);
      }
    }
  }

  function publicRefund(doc: {
    refundId: string;
    paymentId: string;
    amount: number;
    currency: string;
    status: string;
    reason: string;
    metadata?: string | null;
    requestedAt?: Date | null;
    decidedAt?: Date | null;
    completedAt?: Date | null;
    requestedBy?: unknown;
    reviewReason?: string | null;
    decision?: unknown;
    failureReason?: string | null;
    channelRefundId?: string | null;
  }): RefundView {
    return {
      refundId: doc.refundId,
      paymentId: doc.paymentId,
      amount: doc.amount,
      currency: doc.currency as Currency,
      status: doc.status === 'pending' ? 'processing' : (doc.status as RefundView['status']),
      reason: doc.reason,
      ...(doc.metadata ? { metadata: JSON.parse(fieldCipher.decrypt(doc.metadata)) as Record<string, string> } : {}),
      requestedAt: (doc.requestedAt ?? new Date(0)).toISOString(),
      ...(doc.decidedAt ? { decidedAt: doc.decidedAt.toISOString() } : {}),
      ...(doc.completedAt ? { completedAt: doc.completedAt.toISOString() } : {}),
      requestedBy: (doc.requestedBy as RefundRequester | null) ?? { kind: 'platform' },
      ...(doc.reviewReason ? { reviewReason: doc.reviewReason } : {}),
      ...(doc.decision ? { decision: doc.decision as RefundView['decision'] } : {}),
      ...(doc.failureReason ? { failureReason: doc.failureReason } : {}),
      ...(doc.channelRefundId ? { channelRefundId: doc.channelRefundId } : {}),
    };
  }

  async function findRefund(refundId: string) {
    if (!REFUND_ID_PATTERN.test(refundId)) throw refundNotFound(refundId);
    const doc = await models.refunds.findOne({ _id: refundId }).lean();
    if (!doc) throw refundNotFound(refundId);
    return doc;
  }

  /**
   * The payment from the read model, given a moment to settle: the platform hears
   * `payment.succeeded` just before the workflow's last write, so a refund asked for at once may
   * find the payment paid (voucher issued) but not yet `succeeded`.
   */
  async function settledPaymentDocument(paymentId: string) {
    const deadline = Date.now() + SETTLE_WAIT_MS;
    for (;;) {
      const doc = await paymentDocument(models, paymentId);
      if (doc.status !== 'processing' || !doc.voucher || Date.now() >= deadline) return doc;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
  }

  return {
    /**
     * Asks for a refund. `requestKey` (the platform key and its Idempotency-Key) makes a retried
     * request answer the first refund, even across API processes or a lost answer.
     */
    async requestRefund(
      paymentId: string,
      request: { amount: number; reason: string; metadata?: Record<string, string>; items?: RefundItem[] },
      requestedBy: RefundRequester,
      requestKey?: string,
    ): Promise<RefundView> {
      const doc = await settledPaymentDocument(paymentId);
      if (doc.status !== 'succeeded' && doc.status !== 'partially_refunded') {
        throw doc.status === 'processing' && doc.voucher
          ? notRefundable(paymentId, 'paid and still being settled; retry the refund in a few seconds')
          : notRefundable(paymentId, doc.status);
      }
      const workflowId = refundsWorkflowId(paymentId);
      const message: Omit<RequestRefundArgs, 'seal'> = {
        ...(requestKey === undefined ? {} : { requestKey }),
        amount: request.amount,
        reason: request.reason,
        ...(request.metadata ? { metadata: request.metadata } : {}),
        ...(request.items ? { items: request.items } : {}),
        requestedBy,
        policy: {
          reviewAboveAmount: config.REFUND_REVIEW_ABOVE_AMOUNT,
          reviewAfterDays: config.REFUND_REVIEW_AFTER_DAYS,
        },
        requestedAt: new Date().toISOString(),
      };
      const args: RequestRefundArgs = { ...message, seal: sealer.seal('refund-request', workflowId, message) };
      return withRefundsWorkflow(doc, (startWorkflowOperation) =>
        client.workflow.executeUpdateWithStart(requestRefundUpdate, {
          args: [args],
          startWorkflowOperation,
          ...(requestKey === undefined ? {} : { updateId: `refund-request:${requestKey}` }),
        }),
      );
    },

    async getRefund(paymentId: string, refundId: string): Promise<RefundView> {
      const doc = await findRefund(refundId);
      if (doc.paymentId !== paymentId) throw refundNotFound(refundId);
      return publicRefund(doc);
    },

    async findRefund(refundId: string): Promise<RefundView> {
      return publicRefund(await findRefund(refundId));
    },

    /** Refunds of a status (staff's review queue), newest first. */
    async listRefunds(filter: { status?: string; limit: number }): Promise<RefundView[]> {
      const docs = await models.refunds
        .find(filter.status ? { status: filter.status } : {})
        .sort({ createdAt: -1 })
        .limit(filter.limit)
        .lean();
      return docs.map(publicRefund);
    },

    /** A finance decision through the staff API, proven to the workflow by a ticket the API issues. */
    async decideRefund(refundId: string, approve: boolean, staff: StaffIdentity, reason: string): Promise<RefundView> {
      const refund = await findRefund(refundId);
      const doc = await paymentDocument(models, refund.paymentId);
      const action = approve ? 'approveRefund' : 'rejectRefund';
      const ticket = sealer.issueTicket({
        operator: staff.name,
        role: staff.role,
        action,
        target: refundId,
        via: 'api',
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      });
      const args = { refundId, operator: staff.name, reason, ticket };
      return withRefundsWorkflow(doc, (startWorkflowOperation) =>
        client.workflow.executeUpdateWithStart(approve ? approveRefundUpdate : rejectRefundUpdate, {
          args: [args],
          startWorkflowOperation,
        }),
      );
    },

    /**
     * A ticket for the Web UI's Update form: the staff member pastes the answer's `input` into
     * the `approveRefund` or `rejectRefund` Update of the workflow it names. Issuing it is audited.
     */
    async ticketForUi(refundId: string, action: 'approveRefund' | 'rejectRefund', staff: StaffIdentity) {
      const refund = await findRefund(refundId);
      const expiresAt = new Date(Date.now() + TICKET_TTL_MS).toISOString();
      const ticket = sealer.issueTicket({
        operator: staff.name,
        role: staff.role,
        action,
        target: refundId,
        via: 'temporal-ui',
        expiresAt,
      });
      await recordAudit(models, {
        operator: staff.name,
        role: staff.role,
        via: 'api',
        action: 'refund.ticket',
        target: `refund:${refundId}`,
        refundId,
        reason: `ticket for ${action} in the Temporal Web UI`,
        after: { action, expiresAt },
      });
      return {
        workflowId: refundsWorkflowId(refund.paymentId),
        update: action,
        expiresAt,
        input: { refundId, operator: staff.name, reason: '<your reason>', ticket },
      };
    },

    /**
     * Retry or requery on behalf of staff: on the refunds workflow when `refundId` is given,
     * otherwise on the payment's own workflow.
     */
    async nudge(
      paymentId: string,
      kind: 'retryNow' | 'requeryChannel',
      staff: StaffIdentity,
      reason: string,
      refundId?: string,
    ): Promise<string> {
      const doc = await paymentDocument(models, paymentId);
      if (refundId !== undefined && (await findRefund(refundId)).paymentId !== paymentId)
        throw refundNotFound(refundId);
      const workflowId = refundId === undefined ? paymentId : refundsWorkflowId(paymentId);
      const message: Omit<StaffNudgeArgs, 'seal'> = {
        operator: staff.name,
        role: staff.role,
        reason,
        ...(refundId === undefined ? {} : { refundId }),
      };
      const args: StaffNudgeArgs = { ...message, seal: sealer.seal('staff-nudge', workflowId, message) };
      const update = kind === 'retryNow' ? retryNowUpdate : requeryChannelUpdate;
      if (refundId !== undefined) {
        return withRefundsWorkflow(doc, (startWorkflowOperation) =>
          client.workflow.executeUpdateWithStart(update, { args: [args], startWorkflowOperation }),
        );
      }
      try {
        return await client.workflow.getHandle(workflowId).executeUpdate(update, { args: [args] });
      } catch (err) {
        if (workflowFailure(err).kind === 'closed') {
          throw nothingToDo(
            `Payment ${paymentId} is ${doc.status}; its workflow has ended and nothing waits for a ${kind}.`,
          );
        }
        asApiError(err);
      }
    },

    /** Staff allow or block a payment the risk check held (audited by its workflow). */
    async decideRisk(paymentId: string, decision: 'allow' | 'block', staff: StaffIdentity, reason: string) {
      const doc = await paymentDocument(models, paymentId);
      const message: Omit<StaffNudgeArgs, 'seal'> = { operator: staff.name, role: staff.role, reason };
      const args: StaffNudgeArgs = { ...message, seal: sealer.seal('staff-nudge', paymentId, message) };
      try {
        return await client.workflow
          .getHandle(paymentId)
          .executeUpdate(decision === 'allow' ? allowPaymentUpdate : blockPaymentUpdate, { args: [args] });
      } catch (err) {
        const failure = workflowFailure(err);
        if (failure.kind === 'closed') {
          throw nothingToDo(`Payment ${paymentId} is ${doc.status}; its workflow has ended and no risk review waits.`);
        }
        // The workflow's one refusal here: the payment is not (or no longer) held for review.
        if (failure.kind === 'refused' && failure.type === PaymentErrorCode.NothingToDo)
          throw nothingToDo(failure.message);
        throw err;
      }
    },
  };
}

export type RefundService = ReturnType<typeof createRefundService>;
