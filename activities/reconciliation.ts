import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ChannelAdapter } from '../src/channels/types.js';
import { ChannelRejectedError } from '../src/channels/types.js';
import type { Models } from '../src/db/connect.js';
import type { Logger } from '../src/logger.js';
import type { PaymentChannel } from '../domain/payment.js';
import type { Currency } from '../domain/money.js';
import {
  actionsFor,
  BILL_UTC_OFFSET_MINUTES,
  CHARGED_PAYMENT_STATUSES,
  dayBounds,
  reconcile,
  type BillLine,
  type ReconciliationOutcome,
  type SystemTransaction,
} from '../domain/reconciliation.js';

export interface ReconcileDayArgs {
  reconciliationId: string;
  channel: PaymentChannel;
  /** `YYYY-MM-DD`, Beijing day. */
  date: string;
  /** `schedule`, or the staff id that asked. */
  requestedBy: string;
}

export interface ReconciliationSummary {
  reconciliationId: string;
  billLines: number;
  matched: ReconciliationOutcome['matched'];
  exceptionCount: number;
}

interface PaymentFacts {
  _id: string;
  channel?: string | null;
  status: string;
  amount: number;
  currency: string;
  timeline: { at: Date; event: string }[];
  refunds: {
    refundId: string;
    amount: number;
    status: string;
    currency?: string | null;
    completedAt?: string | null;
  }[];
}

const FACTS = { _id: 1, channel: 1, status: 1, amount: 1, currency: 1, timeline: 1, refunds: 1 } as const;

/** How many payments a run reads by `_id` at once. */
const READ_CONCURRENCY = 16;

export interface ReconciliationDeps {
  models: Models;
  channels: Record<PaymentChannel, ChannelAdapter>;
  logger: Logger;
}

/**
 * The daily reconciliation's work: download the channel's bill for the day, gather what the
 * system recorded (the day's successes, and every payment a bill line names), match them
 * (domain/reconciliation.ts) and store the run and its exceptions. Idempotent: a retried run writes
 * the same exception ids and overwrites nothing a person resolved.
 */
export function createReconciliationActivities({ models, channels, logger }: ReconciliationDeps) {
  async function paymentsById(ids: readonly string[]): Promise<Map<string, PaymentFacts>> {
    const found = new Map<string, PaymentFacts>();
    for (let i = 0; i < ids.length; i += READ_CONCURRENCY) {
      const docs = await Promise.all(
        ids.slice(i, i + READ_CONCURRENCY).map((_id) => models.payments.findOne({ _id }, FACTS).lean<PaymentFacts>()),
      );
      for (const doc of docs) if (doc) found.set(doc._id, doc);
    }
    return found;
  }

  /** The system's side of a bill: every payment and refund it knows for these payments. */
  function transactionsOf(
    payments: Iterable<PaymentFacts>,
    bounds: { start: Date; end: Date },
    refundNoOf: (refundId: string) => string,
  ): SystemTransaction[] {
    const inDay = (at: Date | undefined) => at !== undefined && at >= bounds.start && at < bounds.end;
    const out: SystemTransaction[] = [];
    for (const p of payments) {
      const paidAt = p.timeline.find((t) => t.event === 'payment.succeeded')?.at;
      out.push({
        kind: 'payment',
        paymentId: p._id,
        refundId: null,
        refundNo: null,
        amount: p.amount,
        currency: p.currency,
        status: p.status,
        succeeded: CHARGED_PAYMENT_STATUSES.has(p.status),
        inDay: inDay(paidAt ? new Date(paidAt) : undefined),
      });
      for (const r of p.refunds) {
        const completedAt = r.completedAt ? new Date(r.completedAt) : undefined;
        out.push({
          kind: 'refund',
          paymentId: p._id,
          refundId: r.refundId,
          refundNo: refundNoOf(r.refundId),
          amount: r.amount,
          currency: r.currency ?? p.currency,
          status: r.status,
          succeeded: r.status === 'succeeded',
          inDay: inDay(completedAt),
        });
      }
    }
    return out;
  }

  return {
    async reconcileChannelDay({
      reconciliationId,
      channel,
      date,
      requestedBy,
    }: ReconcileDayArgs): Promise<ReconciliationSummary> {
      const adapter = channels[channel];
      const heartbeat = (step: string) => Context.current().heartbeat(step);
      await models.reconciliations.updateOne(
        { _id: reconciliationId },
        {
          $setOnInsert: { channel, date, requestedBy, startedAt: new Date() },
          $set: { status: 'running', error: null },
        },
        { upsert: true },
      );
      if (adapter.downloadBill === undefined) {
        throw ApplicationFailure.create({
          type: 'bill_unsupported',
          message: `${channel} serves no bill this product can read`,
          nonRetryable: true,
        });
      }
      heartbeat('downloading the bill');
      let lines: BillLine[];
      try {
        lines = (await adapter.downloadBill(date)).lines;
      } catch (err) {
        if (err instanceof ChannelRejectedError) {
          throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
        }
        throw err;
      }

      heartbeat('reading the payments');
      const bounds = dayBounds(date, BILL_UTC_OFFSET_MINUTES);
      // The day's successes: every payment of the channel changed since the day began (a payment
      // paid that day was written then or later), then kept if it was paid within the day.
      const recent = await models.payments
        .find({ channel, updatedAt: { $gte: bounds.start } }, FACTS)
        .lean<PaymentFacts[]>();
      const carried = recent.filter((p) => adapter.billCarries?.(p.currency as Currency) ?? true);
      const byId = new Map(carried.map((p) => [p._id, p]));
      const named = [...new Set(lines.map((l) => l.paymentId))].filter((id) => !byId.has(id));
      for (const [id, doc] of await paymentsById(named)) byId.set(id, doc);
      const refundNoOf = (refundId: string) => adapter.billRefundNoOf?.(refundId) ?? refundId;
      const system = transactionsOf(byId.values(), bounds, refundNoOf);

      heartbeat('matching');
      const outcome = reconcile(lines, system);
      const now = new Date();
      const exceptions = outcome.exceptions.map((finding, index) => ({
        _id: `${reconciliationId}.${index + 1}`,
        reconciliationId,
        channel,
        date,
        ...finding,
        state: 'open',
        actions: actionsFor(finding, byId.get(finding.paymentId)?.status),
        resolution: null,
        createdAt: now,
      }));
      // One by one, each insert-if-absent: a retry never replaces an exception someone resolved.
      for (const exception of exceptions) {
        await models.reconciliationExceptions.updateOne(
          { _id: exception._id },
          { $setOnInsert: exception },
          { upsert: true },
        );
      }
      await models.reconciliations.updateOne(
        { _id: reconciliationId },
        {
          $set: {
            status: 'completed',
            completedAt: new Date(),
            billLines: outcome.billLines,
            matched: outcome.matched,
            exceptionCount: exceptions.length,
          },
        },
      );
      logger.info(
        { reconciliationId, channel, date, billLines: outcome.billLines, exceptions: exceptions.length },
        'reconciliation completed',
      );
      return {
        reconciliationId,
        billLines: outcome.billLines,
        matched: outcome.matched,
        exceptionCount: exceptions.length,
      };
    },

    /** Records why a run ended without a result (no bill yet, a bill that did not check out). */
    async markReconciliationFailed({ reconciliationId, error }: { reconciliationId: string; error: string }) {
      await models.reconciliations.updateOne(
        { _id: reconciliationId },
        { $set: { status: 'failed', completedAt: new Date(), error } },
      );
    },
  };
}
