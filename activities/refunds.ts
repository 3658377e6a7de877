import type { ChannelAdapter, RefundOutcome } from '../src/channels/types.js';
import { channelReferences, rethrowChannelError, withReference } from './channels.js';
import type { FieldCipher } from '../src/crypto/field-cipher.js';
import type { StatsRollups } from '../src/stats/rollups.js';
import type { WorkerMetrics } from '../src/worker/metrics.js';
import type { Models } from '../src/db/connect.js';
import { fxQuoteOf } from '../src/db/models/payment.js';
import type { MessageSealer, SealedMessageKind, StaffTicket } from '../src/temporal/message-seal.js';
import { recordAudit } from '../src/staff/audit.js';
import type { Currency } from '../domain/money.js';
import type { FxQuote, PaymentChannel, PaymentStatus } from '../domain/payment.js';
import { linePaidAmounts } from '../domain/pricing.js';
import type { RefundView } from '../domain/refunds.js';

export type { RefundOutcome };

export interface RefundDeps {
  models: Models;
  channels: Record<PaymentChannel, ChannelAdapter>;
  fieldCipher: FieldCipher;
  sealer: MessageSealer;
  /** Where channels post notifications: `${PUBLIC_BASE_URL}/v1/callbacks/<channel>`. */
  publicBaseUrl: string;
  /** The payment statistics, kept in step with each write of a payment's refunds. */
  stats: StatsRollups;
  /** Hears which milestones each write reached (the worker's Prometheus metrics). */
  metrics?: Pick<WorkerMetrics, 'paymentChanged'>;
}

/** What a refunds workflow starts from: its payment as the read model holds it. */
export interface RefundLedgerSnapshot {
  found: boolean;
  orderId: string;
  status: PaymentStatus;
  channel: PaymentChannel | null;
  currency: Currency;
  /** Minor units the channel captured (the payment's amount once paid). */
  capturedAmount: number;
  /** ISO-8601, when the payment succeeded; null when it never did. */
  succeededAt: string | null;
  refunds: RefundView[];
  /** What the learner paid for each course of the order (its lines' shares after every discount). */
  paidByCourse?: [courseId: string, paid: number][];
  /** The payment's locked exchange quote, for a cross-border payment. */
  fx?: FxQuote;
}

export interface SaveRefundArgs {
  paymentId: string;
  refund: RefundView;
  /** Every refund on request of the payment, as the workflow holds them. */
  refunds: RefundView[];
  paymentStatus: PaymentStatus;
  refundedAmount: number;
  /** One timeline entry for this change; written once whatever the retries. */
  event: { at: string; event: string; detail: string };
}

export interface ChannelRefundArgs {
  channel: PaymentChannel;
  paymentId: string;
  refundId: string;
  amount: number;
  totalAmount: number;
  currency: Currency;
  reason: string;
}

export interface StaffActionRecord {
  /** Stable per action (workflow id and update id), so a retried activity writes one entry. */
  id: string;
  operator: string;
  role: string;
  action: string;
  target: string;
  paymentId: string;
  refundId: string | null;
  reason: string;
  before: unknown;
  after: unknown;
  via: 'api' | 'temporal-ui';
}

/** Refund public views from what the read model stores (legacy compensation refunds included). */
function refundFromEntry(paymentId: string, currency: Currency, entry: Record<string, unknown>): RefundView {
  const status = entry.status === 'pending' ? 'processing' : (entry.status as RefundView['status']);
  return {
    refundId: String(entry.refundId),
    paymentId,
    amount: Number(entry.amount),
    currency: (entry.currency as Currency | undefined) ?? currency,
    status,
    reason: String(entry.reason),
    requestedAt: typeof entry.requestedAt === 'string' ? entry.requestedAt : new Date(0).toISOString(),
    ...(typeof entry.decidedAt === 'string' ? { decidedAt: entry.decidedAt } : {}),
    ...(typeof entry.completedAt === 'string' ? { completedAt: entry.completedAt } : {}),
    requestedBy: (entry.requestedBy as RefundView['requestedBy'] | undefined) ?? { kind: 'platform' },
    ...(typeof entry.reviewReason === 'string' ? { reviewReason: entry.reviewReason } : {}),
    ...(entry.decision ? { decision: entry.decision as RefundView['decision'] } : {}),
    ...(typeof entry.failureReason === 'string' ? { failureReason: entry.failureReason } : {}),
    ...(typeof entry.channelRefundId === 'string' ? { channelRefundId: entry.channelRefundId } : {}),
    ...(Array.isArray(entry.items) && entry.items.length > 0
      ? {
          items: (entry.items as Record<string, unknown>[]).map((i) => ({
            courseId: String(i.courseId),
            amount: Number(i.amount),
          })),
        }
      : {}),
    ...(typeof entry.settlementAmount === 'number' ? { settlementAmount: entry.settlementAmount } : {}),
  };
}

/** What the learner paid for each course: the lines' shares after every discount, summed per course. */
function paidByCourseOf(
  items: readonly { courseId: string; unitAmount: number; quantity: number; discounts?: { amount: number }[] | null }[],
  discounts: readonly { amount: number }[],
): [string, number][] {
  const lines = items.map((item) => ({
    unitAmount: item.unitAmount,
    quantity: item.quantity,
    discounts: (item.discounts ?? []).map((d) => ({ description: '', amount: d.amount })),
  }));
  const shares = linePaidAmounts(
    lines,
    discounts.map((d) => ({ description: '', amount: d.amount })),
  );
  const paid = new Map<string, number>();
  items.forEach((item, index) => paid.set(item.courseId, (paid.get(item.courseId) ?? 0) + (shares[index] ?? 0)));
  return [...paid];
}

/**
 * The activities of a payment's refunds workflow: read and write its ledger in the read model, ask
 * the channel to refund and how a refund stands, check the seals and tickets on its messages, and
 * write the audit trail of staff decisions. Every write is keyed by a business id, so a retried
 * activity writes the same thing again and never a second one.
 */
export function createRefundActivities({
  models,
  channels,
  fieldCipher,
  sealer,
  publicBaseUrl,
  stats,
  metrics,
}: RefundDeps) {
  const references = channelReferences(models, channels);
  return {
    async loadRefundLedger({ paymentId }: { paymentId: string }): Promise<RefundLedgerSnapshot> {
      const doc = await models.payments.findOne({ _id: paymentId }).lean();
      if (!doc) {
        return {
          found: false,
          orderId: '',
          status: 'failed',
          channel: null,
          currency: 'CNY',
          capturedAmount: 0,
          succeededAt: null,
          refunds: [],
        };
      }
      const succeeded = doc.timeline.find((t) => t.event === 'payment.succeeded');
      const fx = fxQuoteOf(doc);
      return {
        found: true,
        orderId: doc.orderId,
        status: doc.status,
        channel: doc.channel ?? null,
        currency: doc.currency,
        capturedAmount: doc.amount,
        succeededAt: succeeded ? succeeded.at.toISOString() : null,
        paidByCourse: paidByCourseOf(doc.items, doc.discounts ?? []),
        ...(fx ? { fx } : {}),
        refunds: doc.refunds.map((r) =>
          refundFromEntry(paymentId, doc.currency, r as unknown as Record<string, unknown>),
        ),
      };
    },

    async saveRefund({ paymentId, refund, refunds, paymentStatus, refundedAmount, event }: SaveRefundArgs) {
      const doc = await models.payments
        .findOne({ _id: paymentId }, { channel: 1, timeline: 1, refunds: 1, amount: 1, currency: 1 })
        .lean();
      if (!doc) throw new Error(`payment ${paymentId} is not in the read model`);
      const { metadata } = refund;
      await models.refunds.updateOne(
        { _id: refund.refundId },
        {
          $set: {
            status: refund.status,
            decidedAt: refund.decidedAt ? new Date(refund.decidedAt) : null,
            completedAt: refund.completedAt ? new Date(refund.completedAt) : null,
            decision: refund.decision ?? null,
            failureReason: refund.failureReason ?? null,
            channelRefundId: refund.channelRefundId ?? null,
          },
          $setOnInsert: {
            refundId: refund.refundId,
            paymentId,
            channel: doc.channel ?? 'unknown',
            amount: refund.amount,
            currency: refund.currency,
            reason: refund.reason,
            requestedAt: new Date(refund.requestedAt),
            requestedBy: refund.requestedBy,
            reviewReason: refund.reviewReason ?? null,
            ...(refund.items ? { items: refund.items } : {}),
            settlementAmount: refund.settlementAmount ?? null,
            metadata: metadata ? fieldCipher.encrypt(JSON.stringify(metadata)) : null,
          },
        },
        { upsert: true, runValidators: true },
      );
      // Compensation refunds the saga made stay; refunds on request are replaced by the ledger's.
      const ours = new Set(refunds.map((r) => r.refundId));
      const kept = doc.refunds.filter((r) => !ours.has(r.refundId));
      const already = doc.timeline.some((t) => t.event === event.event && t.detail === event.detail);
      const entries = [...kept, ...refunds.map(({ metadata: _m, paymentId: _p, ...entry }) => entry)];
      const timeline = already
        ? doc.timeline
        : [...doc.timeline, { at: new Date(event.at), event: event.event, detail: event.detail }];
      await models.payments.updateOne(
        { _id: paymentId },
        {
          $set: {
            status: paymentStatus,
            refundedAmount,
            refunds: entries,
            ...(already ? {} : { timeline }),
          },
        },
        { runValidators: true },
      );
      const change = await stats.record({
        paymentId,
        status: paymentStatus,
        channel: doc.channel ?? null,
        currency: doc.currency,
        amount: doc.amount,
        timeline,
        refunds: entries,
      });
      metrics?.paymentChanged(doc.channel ?? null, change);
    },

    /**
     * Asks the channel to refund, with the refund id as its idempotency key (`out_request_no` /
     * `out_refund_no`): a retry answers the first refund, never a second one. Answers how the
     * refund stands; the workflow waits for the channel's confirmation of a `PROCESSING` one.
     */
    async startChannelRefund(args: ChannelRefundArgs): Promise<RefundOutcome> {
      const [orderReference, refundReference] = await Promise.all([
        references.ofOrder(args.channel, args.paymentId),
        references.forRefund(args.channel, args.refundId),
      ]);
      const outcome = await channels[args.channel]
        .refund({
          ...withReference('orderReference', orderReference),
          ...withReference('refundReference', refundReference),
          paymentId: args.paymentId,
          refundId: args.refundId,
          amount: args.amount,
          totalAmount: args.totalAmount,
          currency: args.currency,
          reason: args.reason,
          notifyUrl: `${publicBaseUrl}/v1/callbacks/${args.channel}`,
        })
        .catch(rethrowChannelError);
      if (refundReference === undefined)
        await references.learnRefund(args.channel, args.refundId, outcome.channelRefundId);
      return outcome;
    },

    async queryChannelRefund({
      channel,
      paymentId,
      refundId,
    }: {
      channel: PaymentChannel;
      paymentId: string;
      refundId: string;
    }): Promise<RefundOutcome> {
      const reference = await references.ofRefund(channel, refundId);
      return channels[channel].queryRefund(paymentId, refundId, reference).catch(rethrowChannelError);
    },

    /** Local activity: whether the API sealed this message for this workflow. */
    verifyMessageSeal({
      kind,
      workflowId,
      message,
    }: {
      kind: SealedMessageKind;
      workflowId: string;
      message: { seal?: string };
    }): Promise<boolean> {
      return Promise.resolve(sealer.verify(kind, workflowId, message));
    },

    /**
     * Local activity: the staff ticket's claims when it is valid, unexpired, and issued for this
     * operator, action and refund; `null` otherwise.
     */
    readStaffTicket({
      ticket,
      operator,
      action,
      target,
    }: {
      ticket: string;
      operator: string;
      action: string;
      target: string;
    }): Promise<StaffTicket | null> {
      const claims = sealer.readTicket(ticket);
      const fits = claims && claims.operator === operator && claims.action === action && claims.target === target;
      return Promise.resolve(fits ? claims : null);
    },

    /** One audit entry per staff action, whatever the retries. */
    async recordStaffAction(entry: StaffActionRecord): Promise<void> {
      await recordAudit(models, entry);
    },
  };
}
