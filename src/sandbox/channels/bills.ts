import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PaymentChannel } from '../../../domain/payment.js';
import { base32 } from '../../payments/identity.js';
import { BILL_UTC_OFFSET_MINUTES, dayBounds, dayOf } from '../../../domain/reconciliation.js';
import type {
  BILL_DISCREPANCY_KINDS,
  SandboxBillDiscrepancy,
  SandboxChannelModels,
  SandboxOrder,
  SandboxOutcome,
  SandboxRefund,
} from './models.js';
import { refundSettlesAt, refundStateAt, type OrderBook } from './order-book.js';

export type BillDiscrepancyKind = (typeof BILL_DISCREPANCY_KINDS)[number];

/** A paid order as a day's bill lists it. Amounts in minor units. */
export interface BilledTrade {
  outTradeNo: string;
  channelTradeNo: string;
  subject: string;
  amount: number;
  currency: string;
  createdAt: Date;
  paidAt: Date;
  buyerId: string;
  reference: string | null;
  /** `false` when the bill is to show the trade as not having taken effect (revoked). */
  effective: boolean;
}

/** A refund that succeeded in the day, as the bill lists it. */
export interface BilledRefund {
  outTradeNo: string;
  channelTradeNo: string;
  outRequestNo: string;
  channelRefundId: string;
  amount: number;
  currency: string;
  /** The refunded order's amount. */
  orderAmount: number;
  subject: string;
  refundedAt: Date;
  reference: string | null;
}

/** What a channel's bill for one (Beijing) day holds, before the channel's format is applied. */
export interface DayBill {
  channel: PaymentChannel;
  date: string;
  trades: BilledTrade[];
  refunds: BilledRefund[];
}

export interface InjectedDiscrepancy {
  channel: PaymentChannel;
  kind: BillDiscrepancyKind;
  /** The Beijing day whose bill shows it. */
  date: string;
  /** The payment it concerns (for `missing_here` without one: the id of the charge's made-up order). */
  paymentId: string;
  /** The channel's order number of that payment. */
  outTradeNo: string;
}

/** The request cannot be carried out as asked: answered 409 by the control API. */
export class DiscrepancyRefusedError extends Error {
  override readonly name = 'DiscrepancyRefusedError';
}

export interface BillBook {
  /** The day's bill as it stands now (today's: the day so far), discrepancies applied. */
  day(date: string, now?: Date): Promise<DayBill>;
  /**
   * Fault injection. `missing_here` pays the order in the channel's books without telling the
   * merchant (or, with no `outTradeNo`, books a paid order the merchant never created); the other
   * kinds change the bill line of a paid order: left out, another `amount` (default one yuan
   * more), another `currency`, or shown revoked.
   */
  inject(request: {
    kind: BillDiscrepancyKind;
    paymentId?: string;
    amount?: number;
    currency?: string;
  }): Promise<InjectedDiscrepancy>;
}

export interface BillBookParts {
  channel: PaymentChannel;
  book: OrderBook;
  newChannelTradeNo(at: Date): string;
  newBuyerId(): string;
  /** The channel's order number of a payment id (UnionPay's has no `pay_`). */
  orderNoOf(paymentId: string): string;
  /** The merchant and app the channel books an unknown charge under. */
  merchant: { appId: string; merchantId: string };
  /** The currency an unknown charge is booked in. */
  currency: string;
  /** Kinds the channel's bill format has no column for (Alipay's domestic bill: no state, no currency). */
  cannotShow: readonly BillDiscrepancyKind[];
}

/** A payment id no payment has: the order number of a charge the merchant never created. */
function unknownPaymentId(): string {
  return `pay_${base32(randomBytes(18))}`;
}

/** The sandbox's bills, read from the simulated channels' books in MongoDB (every process agrees). */
export function createBillBook(ready: Promise<SandboxChannelModels>, parts: BillBookParts): BillBook {
  const { channel, book } = parts;
  const discrepancyKey = (outTradeNo: string) => `${channel}:${outTradeNo}`;

  return {
    async day(date, now = new Date()) {
      const models = await ready;
      const { start, end } = dayBounds(date, BILL_UTC_OFFSET_MINUTES);
      const until = new Date(Math.min(end.getTime(), now.getTime()));
      const [outcomes, refunds, discrepancies] = await Promise.all([
        models.outcomes.find({ channel, state: 'PAID', at: { $gte: start, $lt: until } }).lean<SandboxOutcome[]>(),
        models.refunds
          .find({
            channel,
            $or: [{ settlesAt: { $gte: start, $lt: until } }, { settlesAt: null, at: { $gte: start, $lt: until } }],
          })
          .lean<SandboxRefund[]>(),
        models.billDiscrepancies.find({ channel, date }).lean<SandboxBillDiscrepancy[]>(),
      ]);
      const succeeded = refunds.filter((r) => refundStateAt(r, now) === 'SUCCEEDED');
      const orderNos = [...new Set([...outcomes.map((o) => o.outTradeNo), ...succeeded.map((r) => r.outTradeNo)])];
      // Each order by `_id`, and the paid outcome of refunded orders paid on another day.
      const orders = new Map(
        (await Promise.all(orderNos.map((n) => models.orders.findOne({ _id: `${channel}:${n}` }).lean<SandboxOrder>())))
          .filter((o) => o !== null)
          .map((o) => [o.outTradeNo, o]),
      );
      const paidOutcomes = new Map(outcomes.map((o) => [o.outTradeNo, o]));
      for (const refund of succeeded) {
        if (paidOutcomes.has(refund.outTradeNo)) continue;
        const outcome = await models.outcomes
          .findOne({ _id: `${channel}:${refund.outTradeNo}` })
          .lean<SandboxOutcome>();
        if (outcome) paidOutcomes.set(refund.outTradeNo, outcome);
      }
      const byOrder = new Map(discrepancies.map((d) => [d.outTradeNo, d]));

      const trades: BilledTrade[] = [];
      for (const outcome of outcomes) {
        const order = orders.get(outcome.outTradeNo);
        if (!order) continue;
        const trade: BilledTrade = {
          outTradeNo: order.outTradeNo,
          channelTradeNo: outcome.channelTradeNo ?? '',
          subject: order.subject,
          amount: order.amount,
          currency: order.currency,
          createdAt: order.createdAt,
          paidAt: outcome.at,
          buyerId: outcome.buyerId ?? '',
          reference: order.reference ?? null,
          effective: true,
        };
        const discrepancy = byOrder.get(order.outTradeNo);
        if (discrepancy?.kind === 'missing_at_channel') continue;
        if (discrepancy?.kind === 'amount_mismatch') trade.amount = discrepancy.amount ?? trade.amount + 100;
        if (discrepancy?.kind === 'currency_mismatch') trade.currency = discrepancy.currency ?? 'USD';
        if (discrepancy?.kind === 'status_mismatch') trade.effective = false;
        trades.push(trade);
      }
      const billedRefunds: BilledRefund[] = [];
      for (const refund of succeeded) {
        const order = orders.get(refund.outTradeNo);
        if (!order) continue;
        billedRefunds.push({
          outTradeNo: refund.outTradeNo,
          channelTradeNo: paidOutcomes.get(refund.outTradeNo)?.channelTradeNo ?? '',
          outRequestNo: refund.outRequestNo,
          channelRefundId: refund.channelRefundId,
          amount: refund.amount,
          currency: order.currency,
          orderAmount: order.amount,
          subject: order.subject,
          refundedAt: refundSettlesAt(refund),
          reference: refund.reference ?? null,
        });
      }
      const byTime =
        <T>(at: (t: T) => Date) =>
        (a: T, b: T) =>
          at(a).getTime() - at(b).getTime();
      trades.sort(byTime((t) => t.paidAt));
      billedRefunds.sort(byTime((r) => r.refundedAt));
      return { channel, date, trades, refunds: billedRefunds };
    },

    async inject({ kind, paymentId: given, amount, currency }) {
      if (parts.cannotShow.includes(kind)) {
        throw new DiscrepancyRefusedError(`${channel}'s bill has no column that could show ${kind}`);
      }
      const models = await ready;
      const now = new Date();
      const paymentId = given ?? unknownPaymentId();
      const outTradeNo = parts.orderNoOf(paymentId);
      if (kind === 'missing_here') {
        const orderNo = outTradeNo;
        if (given === undefined) {
          await book.open({
            outTradeNo: orderNo,
            appId: parts.merchant.appId,
            merchantId: parts.merchant.merchantId,
            subject: 'Charge the merchant never created',
            amount: amount ?? 100,
            currency: parts.currency,
            notifyUrl: '',
            expiresAt: now,
          });
        }
        const trade = await book.trade(orderNo);
        if (!trade) throw new DiscrepancyRefusedError(`${channel} holds no order for that payment`);
        if (trade.state === 'PAID') throw new DiscrepancyRefusedError(`${channel} has already charged that order`);
        const outcome = {
          state: 'PAID' as const,
          channelTradeNo: parts.newChannelTradeNo(now),
          buyerId: parts.newBuyerId(),
          at: now,
        };
        await (trade.state === 'CLOSED' ? book.settleAfterClose(orderNo, outcome) : book.settle(orderNo, outcome));
        return { channel, kind, date: dayOf(now, BILL_UTC_OFFSET_MINUTES), paymentId, outTradeNo };
      }
      if (given === undefined) throw new DiscrepancyRefusedError(`${kind} needs the paymentId of a paid order`);
      const trade = await book.trade(outTradeNo);
      if (!trade?.outcome || trade.state !== 'PAID') {
        throw new DiscrepancyRefusedError(`${channel} has not charged that order: its bill has no line to change`);
      }
      const date = dayOf(trade.outcome.at, BILL_UTC_OFFSET_MINUTES);
      const _id = discrepancyKey(outTradeNo);
      await models.billDiscrepancies.replaceOne(
        { _id },
        {
          _id,
          channel,
          date,
          outTradeNo,
          kind,
          amount: kind === 'amount_mismatch' ? (amount ?? trade.order.amount + 100) : null,
          currency:
            kind === 'currency_mismatch' ? (currency ?? (trade.order.currency === 'USD' ? 'EUR' : 'USD')) : null,
          at: now,
        },
        { upsert: true },
      );
      return { channel, kind, date, paymentId, outTradeNo };
    },
  };
}

/**
 * The tokens of a channel's bill download URLs: the day and when the URL was issued, signed with a
 * key of the channel's, so any sandbox process can serve a URL another issued, and the file is
 * the bill as it stood at issue (the hash WeChat Pay answers beside the URL stays true). `check`
 * answers both, or undefined for a forged or expired token.
 */
export function expiringTokens(secret: string, ttlMs: number) {
  const mac = (payload: string) => createHmac('sha256', `bill:${secret}`).update(payload).digest('base64url');
  return {
    issue(date: string, now = Date.now()): string {
      const payload = `${date}.${now}`;
      return `${payload}.${mac(payload)}`;
    },
    check(token: string, now = Date.now()): { date: string; issuedAt: Date } | undefined {
      const m = /^(\d{4}-\d{2}-\d{2})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (!m?.[1]) return undefined;
      const expected = Buffer.from(mac(`${m[1]}.${m[2]}`));
      const given = Buffer.from(m[3] ?? '');
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      const issuedAt = Number(m[2]);
      return issuedAt + ttlMs < now ? undefined : { date: m[1], issuedAt: new Date(issuedAt) };
    },
  };
}
