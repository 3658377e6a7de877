import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Models } from '../db/connect.js';
import type { ReconciliationExceptionDocument } from '../db/models/reconciliation.js';
import { ApiError } from '../api/errors.js';
import { recordAudit, type AuditVia } from '../staff/audit.js';
import type { StaffIdentity } from '../staff/store.js';
import type { Currency } from '../../domain/money.js';
import type { PaymentChannel } from '../../domain/payment.js';
import {
  BILL_UTC_OFFSET_MINUTES,
  CHARGED_PAYMENT_STATUSES,
  dayOf,
  type ResolutionAction,
  type SideValues,
} from '../../domain/reconciliation.js';
import type { latePaymentWorkflow } from '../../workflows/late-payment.js';
import type { reconciliationWorkflow } from '../../workflows/reconciliation.js';
import { OrderIdKey } from '../../workflows/search-attributes.js';
import { workflowFailure } from './failures.js';
import { base32 } from './identity.js';
import type { PaymentService } from './service.js';

/** A run as staff read it. */
export interface ReconciliationView {
  reconciliationId: string;
  channel: string;
  date: string;
  status: string;
  requestedBy: string;
  startedAt: string;
  completedAt: string | null;
  error: string | null;
  billLines: number;
  matched: {
    payments: { count: number; amounts: { currency: string; amount: number }[] };
    refunds: { count: number; amounts: { currency: string; amount: number }[] };
  } | null;
  exceptionCount: number;
  exceptions: ReconciliationExceptionView[];
}

export interface ReconciliationExceptionView {
  exceptionId: string;
  reconciliationId: string;
  channel: string;
  date: string;
  kind: string;
  transaction: string;
  paymentId: string;
  refundId: string | null;
  refundNo: string | null;
  channelTradeNo: string | null;
  here: SideValues | null;
  atChannel: SideValues | null;
  state: 'open' | 'resolved';
  actions: ResolutionAction[];
  resolution: { action: string; reason: string; by: string; role: string; at: string; effect: string | null } | null;
}

/** `rec_<channel>_<yyyymmdd>_<8 random>`: the run's id and its workflow id. */
function newReconciliationId(channel: string, date: string): string {
  const suffix = base32(randomBytes(5));
  return `rec_${channel}_${date.replaceAll('-', '')}_${suffix}`;
}

const sideValues = (
  s: { status?: string | null; amount?: number | null; currency?: string | null } | null | undefined,
) => (s ? { status: s.status ?? '', amount: s.amount ?? 0, currency: s.currency ?? '' } : null);

function exceptionView(doc: ReconciliationExceptionDocument & { _id: string }): ReconciliationExceptionView {
  const r = doc.resolution;
  return {
    exceptionId: doc._id,
    reconciliationId: doc.reconciliationId,
    channel: doc.channel,
    date: doc.date,
    kind: doc.kind,
    transaction: doc.transaction,
    paymentId: doc.paymentId,
    refundId: doc.refundId ?? null,
    refundNo: doc.refundNo ?? null,
    channelTradeNo: doc.channelTradeNo ?? null,
    here: sideValues(doc.here),
    atChannel: sideValues(doc.atChannel),
    state: doc.state === 'resolved' ? 'resolved' : 'open',
    actions: doc.state === 'resolved' ? [] : (doc.actions as ResolutionAction[]),
    resolution: !r?.action
      ? null
      : {
          action: r.action,
          reason: r.reason ?? '',
          by: r.by?.name ?? '',
          role: r.by?.role ?? '',
          at: r.at?.toISOString() ?? '',
          effect: r.effect ?? null,
        },
  };
}

/**
 * What a run's or an exception's id can look like (`rec_<channel>_<yyyymmdd>_<8>`, a scheduled
 * run's `reconciliation-<channel>-...`, `.<n>` for an exception): anything else names nothing, and
 * is not sent to MongoDB (PostgreSQL under FerretDB refuses a NUL, for one).
 */
const RECORD_ID = /^[A-Za-z0-9_:.-]{1,200}$/;

const missingRecord = (what: 'reconciliation' | 'exception', id: string) =>
  new ApiError(
    404,
    'not_found_error',
    what === 'reconciliation' ? 'reconciliation_not_found' : 'exception_not_found',
    `No ${what} ${RECORD_ID.test(id) ? id : 'with that id'}.`,
    what === 'reconciliation' ? 'reconciliationId' : 'exceptionId',
  );

export interface ReconciliationServiceDeps {
  client: Client;
  models: Models;
  payments: Pick<PaymentService, 'nudge' | 'requestRefund'>;
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>;
  /** The enabled channels that serve bills. */
  channels: readonly PaymentChannel[];
}

/**
 * Daily reconciliation for staff: start a run of a channel's day, read a run and its exceptions,
 * and resolve an exception with one audited action that goes through the saga (a requery that
 * adopts a payment, a late-payment refund, a refund on request) or explains it.
 */
export function createReconciliationService({ client, models, payments, config, channels }: ReconciliationServiceDeps) {
  async function view(reconciliationId: string): Promise<ReconciliationView> {
    if (!RECORD_ID.test(reconciliationId)) throw missingRecord('reconciliation', reconciliationId);
    const doc = await models.reconciliations.findOne({ _id: reconciliationId }).lean();
    if (!doc) throw missingRecord('reconciliation', reconciliationId);
    const exceptions = await models.reconciliationExceptions.find({ reconciliationId }).lean();
    exceptions.sort((a, b) => Number(a._id.split('.').pop()) - Number(b._id.split('.').pop()));
    return {
      reconciliationId,
      channel: doc.channel,
      date: doc.date,
      status: doc.status,
      requestedBy: doc.requestedBy,
      startedAt: doc.startedAt.toISOString(),
      completedAt: doc.completedAt?.toISOString() ?? null,
      error: doc.error ?? null,
      billLines: doc.billLines ?? 0,
      matched: doc.matched
        ? {
            payments: {
              count: doc.matched.payments?.count ?? 0,
              amounts: matchedAmounts(doc.matched.payments?.amounts),
            },
            refunds: { count: doc.matched.refunds?.count ?? 0, amounts: matchedAmounts(doc.matched.refunds?.amounts) },
          }
        : null,
      exceptionCount: doc.exceptionCount ?? 0,
      exceptions: exceptions.map(exceptionView),
    };
  }

  /** Carries out a resolution's action; answers what it set going. Idempotent per exception. */
  async function carryOut(
    exception: ReconciliationExceptionDocument & { _id: string },
    action: ResolutionAction,
    staff: StaffIdentity,
    reason: string,
    amount: number | undefined,
  ): Promise<string | null> {
    const { paymentId } = exception;
    if (action === 'explain') return null;
    if (action === 'adopt') {
      try {
        await payments.nudge(paymentId, 'requeryChannel', staff, `reconciliation ${exception._id}: ${reason}`);
      } catch (err) {
        // The saga found the charge by itself meanwhile (a check-in): it is adopted already.
        const now = await models.payments.findOne({ _id: paymentId }, { status: 1 }).lean();
        if (
          !(err instanceof ApiError && err.code === 'nothing_to_do' && now && CHARGED_PAYMENT_STATUSES.has(now.status))
        )
          throw err;
        return `payment ${paymentId} had taken the charge (${now.status})`;
      }
      return `requeried payment ${paymentId}`;
    }
    if (exception.kind === 'missing_here') {
      const payment = await models.payments.findOne({ _id: paymentId }, { orderId: 1 }).lean();
      const atChannel = sideValues(exception.atChannel);
      if (!payment || !atChannel) throw missingRecord('exception', exception._id);
      const workflowId = `${paymentId}-late`;
      await client.workflow
        .start<typeof latePaymentWorkflow>('latePaymentWorkflow', {
          workflowId,
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          args: [
            {
              paymentId,
              orderId: payment.orderId,
              notice: {
                channel: exception.channel,
                notificationId: `reconciliation:${exception._id}`,
                outTradeNo: paymentId,
                channelTradeNo: exception.channelTradeNo ?? '',
                state: 'PAID',
                amount: atChannel.amount,
                currency: atChannel.currency as Currency,
                merchantId: '',
                appId: '',
              },
            },
          ],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [{ key: OrderIdKey, value: payment.orderId }],
        })
        .catch((err: unknown) => {
          if (workflowFailure(err).kind !== 'already_started') throw err;
        });
      return `late-payment refund ${workflowId}`;
    }
    const refundAmount = amount ?? sideValues(exception.here)?.amount ?? 0;
    const refund = await payments.requestRefund(
      paymentId,
      { amount: refundAmount, reason: `reconciliation ${exception._id}: ${reason}` },
      { kind: 'staff', operator: staff.name, role: staff.role },
      `reconciliation:${exception._id}`,
    );
    return `refund ${refund.refundId} (${refund.status})`;
  }

  return {
    /** Starts a run of `channel`'s bill of `date`; answers its id while it runs. */
    async start(channel: PaymentChannel, date: string, staff: StaffIdentity, via: AuditVia) {
      if (!channels.includes(channel)) {
        throw new ApiError(
          422,
          'validation_error',
          'invalid_parameter',
          `channel: ${channel} is not enabled here or serves no bill; these do: ${channels.join(', ') || 'none'}.`,
          'channel',
        );
      }
      if (date > dayOf(new Date(), BILL_UTC_OFFSET_MINUTES)) {
        throw new ApiError(
          422,
          'validation_error',
          'invalid_parameter',
          'date: that day has not begun in Beijing; a bill covers a day up to now at most.',
          'date',
        );
      }
      const reconciliationId = newReconciliationId(channel, date);
      await models.reconciliations.create({
        _id: reconciliationId,
        channel,
        date,
        status: 'running',
        requestedBy: staff.name,
        startedAt: new Date(),
      });
      await recordAudit(models, {
        operator: staff.name,
        role: staff.role,
        via,
        action: 'reconciliation.run',
        target: `reconciliation:${reconciliationId}`,
        reason: `reconcile ${channel} ${date}`,
        after: { channel, date },
      });
      try {
        await client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
          workflowId: reconciliationId,
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          args: [{ channel, date, requestedBy: staff.name }],
        });
      } catch (err) {
        // The run never started: say so on its record rather than leave it `running`.
        await models.reconciliations.updateOne(
          { _id: reconciliationId },
          { $set: { status: 'failed', completedAt: new Date(), error: 'not_started: Temporal did not take the run' } },
        );
        throw err;
      }
      return { reconciliationId, status: 'running' as const };
    },

    view,

    async listExceptions(filter: { state?: 'open' | 'resolved'; limit: number }) {
      const docs = await models.reconciliationExceptions
        .find(filter.state === undefined ? {} : { state: filter.state })
        .sort({ createdAt: -1 })
        .limit(filter.limit)
        .lean();
      return { exceptions: docs.map(exceptionView) };
    },

    /**
     * Resolves an exception with one of its actions. The audit entry is written first, with an id
     * of the exception: a second resolution finds it and is refused, and a resolution whose action
     * was interrupted is finished by asking again (the actions are idempotent per exception).
     */
    async resolve(
      exceptionId: string,
      request: { action: ResolutionAction; reason: string; amount?: number },
      staff: StaffIdentity,
      via: AuditVia,
    ): Promise<ReconciliationExceptionView> {
      if (!RECORD_ID.test(exceptionId)) throw missingRecord('exception', exceptionId);
      const exception = await models.reconciliationExceptions.findOne({ _id: exceptionId }).lean();
      if (!exception) throw missingRecord('exception', exceptionId);
      if (exception.state === 'resolved') {
        throw new ApiError(
          409,
          'conflict_error',
          'exception_already_resolved',
          `Exception ${exceptionId} was resolved (${exception.resolution?.action ?? ''}) by ${exception.resolution?.by?.name ?? ''}.`,
        );
      }
      if (!exception.actions.includes(request.action)) {
        throw new ApiError(
          422,
          'validation_error',
          'invalid_parameter',
          `action: a ${exception.kind} exception here is resolved by ${exception.actions.join(' or ')}.`,
          'action',
        );
      }
      const claim = await recordAudit(models, {
        id: `aud_reconciliation_${exceptionId}`,
        operator: staff.name,
        role: staff.role,
        via,
        action: `reconciliation.${request.action}`,
        target: `reconciliation-exception:${exceptionId}`,
        paymentId: exception.paymentId,
        reason: request.reason,
        before: { state: 'open', kind: exception.kind, here: exception.here, atChannel: exception.atChannel },
        after: { state: 'resolved', action: request.action },
      });
      if (!claim.recorded) {
        const first = await models.auditEntries.findOne({ _id: claim.id }).lean();
        if (first?.operator !== staff.name || (first.after as { action?: string } | null)?.action !== request.action) {
          throw new ApiError(
            409,
            'conflict_error',
            'exception_already_resolved',
            `Exception ${exceptionId} is being resolved by ${first?.operator ?? 'someone else'}.`,
          );
        }
      }
      const effect = await carryOut(exception, request.action, staff, request.reason, request.amount);
      await models.reconciliationExceptions.updateOne(
        { _id: exceptionId },
        {
          $set: {
            state: 'resolved',
            resolution: {
              action: request.action,
              reason: request.reason,
              by: { staffId: staff.name, name: staff.name, role: staff.role },
              at: new Date(),
              effect,
            },
          },
        },
      );
      const resolved = await models.reconciliationExceptions.findOne({ _id: exceptionId }).lean();
      return exceptionView(resolved ?? exception);
    },
  };
}

function matchedAmounts(list: { currency?: string | null; amount?: number | null }[] | undefined) {
  return (list ?? []).map((a) => ({ currency: a.currency ?? '', amount: a.amount ?? 0 }));
}

export type ReconciliationService = ReturnType<typeof createReconciliationService>;
