import type { Models } from '../src/db/connect.js';
import { isDuplicateKeyError } from '../src/db/errors.js';
import type { RiskSubject } from '../src/payments/identity.js';
import type { Logger } from '../src/logger.js';
import { assessRisk, riskRulesOn, type RiskRules, type RiskVerdict } from '../domain/risk.js';

export interface RiskDeps {
  models: Models;
  rules: RiskRules;
  logger: Logger;
}

export interface AssessRiskArgs {
  paymentId: string;
  subject: RiskSubject;
  amount: number;
  currency: string;
}

/** A customer's latest payments kept for the check. */
const RECENT_PAYMENTS = 20;
/** A velocity window is counted in at most this many buckets. */
const BUCKETS_PER_WINDOW = 30;
const PAID = new Set(['succeeded', 'partially_refunded', 'refunded']);
/**
 * Payments a learner started and did not complete. Not `failed`: those never reached a channel (a
 * block by this very check, an outage), and counting them would lock a customer out for good.
 */
const UNPAID = new Set(['expired', 'canceled']);

/**
 * The risk check before routing (domain/risk.ts). Decided once per payment: the decision is kept
 * by payment id, so a retried check answers the first one and counts the payment once.
 */
export function createRiskActivities({ models, rules, logger }: RiskDeps) {
  const { assessments, counters, customers } = models.risk;
  const bucketMinutes = Math.max(1, Math.ceil(rules.windowMinutes / BUCKETS_PER_WINDOW));

  /** The `_id`s of a subject's buckets over the window ending now. */
  function bucketIds(prefix: string, now: Date): string[] {
    const nowMinutes = Math.floor(now.getTime() / 60_000);
    const last = nowMinutes - (nowMinutes % bucketMinutes);
    const ids: string[] = [];
    for (let start = last; start > nowMinutes - rules.windowMinutes; start -= bucketMinutes)
      ids.push(`${prefix}:${start}`);
    return ids;
  }

  /**
   * Counts this payment into the subject's current bucket and answers the window's totals, this
   * payment included. The count is taken from the increment itself, so payments checked at the
   * same moment see each other (a burst cannot slip under a limit).
   */
  async function countIn(prefix: string, amount: number, now: Date): Promise<{ count: number; amount: number }> {
    const [current, ...earlier] = bucketIds(prefix, now);
    const increment = () =>
      counters.findOneAndUpdate({ _id: current }, { $inc: { count: 1, amount } }, { upsert: true, new: true }).lean();
    // Two first increments of one bucket at once: one insert loses the unique race; once more is an update.
    const [counted, found] = await Promise.all([
      increment().catch((err: unknown) => {
        if (isDuplicateKeyError(err)) return increment();
        throw err;
      }),
      counters.find({ _id: { $in: earlier } }, { count: 1, amount: 1 }).lean(),
    ]);
    return found.reduce((sum, b) => ({ count: sum.count + b.count, amount: sum.amount + b.amount }), {
      count: counted?.count ?? 1,
      amount: counted?.amount ?? amount,
    });
  }

  /** The customer's latest payments, this one appended (optimistic: a lost race is tried again). */
  async function rememberPayment(
    customer: string,
    entry: { paymentId: string; currency: string; amount: number; at: Date },
  ) {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const doc = await customers.findOne({ _id: customer }).lean();
      const earlier = (doc?.recent ?? [])
        .map((p) => ({
          paymentId: p.paymentId ?? '',
          currency: p.currency ?? '',
          amount: p.amount ?? 0,
          at: p.at ?? new Date(0),
        }))
        .filter((p) => p.paymentId !== '' && p.paymentId !== entry.paymentId);
      const recent = [...earlier, entry].slice(-RECENT_PAYMENTS);
      try {
        if (doc === null) await customers.create({ _id: customer, recent, version: 1 });
        else {
          const { matchedCount } = await customers.updateOne(
            { _id: customer, version: doc.version },
            { $set: { recent, version: doc.version + 1 } },
          );
          if (matchedCount === 0) continue;
        }
        return earlier;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    throw new Error('the customer’s risk record kept changing; try again');
  }

  return {
    /**
     * Decides `allow`, `review` or `block` for a payment about to be routed, from the customer's
     * and the client address's payments in the window, the customer's paid and unpaid history, and
     * the blocklists. With every rule off it allows at once and keeps nothing.
     */
    async assessPaymentRisk(args: AssessRiskArgs): Promise<RiskVerdict> {
      if (!riskRulesOn(rules)) return { decision: 'allow', reasons: [] };
      const kept = await assessments.findOne({ _id: args.paymentId }).lean();
      if (kept)
        return {
          decision: kept.decision,
          reasons: kept.decision === 'allow' ? ['no risk rule matched'] : kept.reasons,
        };
      const now = new Date();
      const { customer, address } = args.subject;
      const customerPrefix = `customer:${customer}:${args.currency}`;
      const addressPrefix = address === undefined ? undefined : `address:${address}:*`;
      // Counted before the decision is kept: a check retried after a crash may count a payment
      // twice (it may then hold one for review), never let a burst through uncounted.
      const [customerTotals, addressTotals, earlier] = await Promise.all([
        countIn(customerPrefix, args.amount, now),
        addressPrefix === undefined ? { count: 0, amount: 0 } : countIn(addressPrefix, args.amount, now),
        rememberPayment(customer, { paymentId: args.paymentId, currency: args.currency, amount: args.amount, at: now }),
      ]);
      const statuses = new Map(
        (
          await models.payments
            .find({ _id: { $in: earlier.map((p) => p.paymentId) } }, { status: 1, amount: 1, currency: 1 })
            .lean()
        ).map((p) => [String(p._id), p]),
      );
      const paid = earlier.filter(
        (p) => p.currency === args.currency && PAID.has(statuses.get(p.paymentId)?.status ?? ''),
      );
      let failedInARow = 0;
      const since = now.getTime() - rules.windowMinutes * 60_000;
      for (const payment of [...earlier].reverse().filter((p) => p.at.getTime() >= since)) {
        const status = statuses.get(payment.paymentId)?.status ?? '';
        if (PAID.has(status)) break;
        if (UNPAID.has(status)) failedInARow += 1;
      }
      const verdict = assessRisk(
        {
          customer,
          ...(address === undefined ? {} : { address }),
          amount: args.amount,
          customerPayments: customerTotals.count,
          customerAmount: customerTotals.amount,
          addressPayments: address === undefined ? 0 : addressTotals.count,
          paid: {
            count: paid.length,
            meanAmount: paid.length === 0 ? 0 : paid.reduce((sum, p) => sum + p.amount, 0) / paid.length,
          },
          failedInARow,
        },
        rules,
      );
      try {
        await assessments.create({ _id: args.paymentId, ...verdict, at: now });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const first = await assessments.findOne({ _id: args.paymentId }).lean();
        if (first) return { decision: first.decision, reasons: first.reasons };
      }
      if (verdict.decision !== 'allow') {
        logger.info({ paymentId: args.paymentId, decision: verdict.decision }, 'risk check held a payment');
        return verdict;
      }
      return { decision: 'allow', reasons: ['no risk rule matched'] };
    },
  };
}
