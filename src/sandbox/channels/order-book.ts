import { randomInt } from 'node:crypto';
import type { PaymentChannel } from '../../../workflows/contracts.js';
import type { ChannelOperation } from '../../channels/types.js';
import { isDuplicateKeyError } from '../../db/errors.js';
import type { SandboxChannelModels, SandboxOrder, SandboxOutcome, SandboxRefund } from './models.js';

/** A simulated channel's view of one order: what was created, how it ended, what was refunded. */
export interface Trade {
  order: SandboxOrder;
  /** `NOT_PAID` until paid or closed; a paid order stays `PAID` after refunds (see `refunded`). */
  state: 'NOT_PAID' | 'PAID' | 'CLOSED';
  outcome: SandboxOutcome | null;
  /** Minor units refunded so far. */
  refunded: number;
}

export type OpenOrderResult =
  | { kind: 'created' | 'existing'; trade: Trade }
  /** The `out_trade_no` is taken by an order with another amount, currency or subject. */
  | { kind: 'conflict'; trade: Trade };

export type RefundDecision =
  | {
      kind: 'refunded';
      refund: SandboxRefund;
      trade: Trade;
      /** A retry of a refund already made. */ replayed: boolean;
    }
  | { kind: 'refused'; why: 'TRADE_NOT_EXIST' | 'TRADE_NOT_PAID' | 'EXCEEDS_PAID' | 'CONFLICTING_RETRY' };

export interface RefundRequestAtChannel {
  outTradeNo: string;
  outRequestNo: string;
  /** Minor units. */
  amount: number;
  reason: string;
  channelRefundId: string;
}

export interface OrderBook {
  /** Registers an order; idempotent by `out_trade_no` for the same amount, currency and subject. */
  open(order: Omit<SandboxOrder, '_id' | 'channel' | 'createdAt'>): Promise<OpenOrderResult>;
  trade(outTradeNo: string): Promise<Trade | undefined>;
  /**
   * Ends the order's payment window as paid or closed, unless it has already ended; answers the
   * trade as it now stands, so the caller sees whether it won.
   */
  settle(outTradeNo: string, outcome: Omit<SandboxOutcome, '_id' | 'channel' | 'outTradeNo'>): Promise<Trade>;
  /** Fault injection: replaces a closed order's outcome with a payment (one that was in flight). */
  settleAfterClose(outTradeNo: string, outcome: Omit<SandboxOutcome, '_id' | 'channel' | 'outTradeNo'>): Promise<Trade>;
  /**
   * Refunds at most once per `outRequestNo` (a retry answers the first refund) and never more in
   * total than was paid, even under concurrent refunds of one order.
   */
  refund(request: RefundRequestAtChannel): Promise<RefundDecision>;
  findRefund(outRequestNo: string): Promise<SandboxRefund | undefined>;
}

const MAX_REFUND_ATTEMPTS = 20;

/** `ready` resolves once the sandbox collections' unique indexes exist; every operation waits for it. */
export function createOrderBook(ready: Promise<SandboxChannelModels>, channel: PaymentChannel): OrderBook {
  /** Orders and outcomes are keyed by `_id`: the one filter every MongoDB-wire server indexes. */
  const keyOf = (outTradeNo: string) => `${channel}:${outTradeNo}`;

  async function trade(outTradeNo: string): Promise<Trade | undefined> {
    const models = await ready;
    const order = await models.orders.findOne({ _id: keyOf(outTradeNo) }, { _id: 0 }).lean<SandboxOrder>();
    if (!order) return undefined;
    const [outcome, refunds] = await Promise.all([
      models.outcomes.findOne({ _id: keyOf(outTradeNo) }, { _id: 0 }).lean<SandboxOutcome>(),
      models.refunds.find({ channel, outTradeNo }, { _id: 0, amount: 1 }).lean<Pick<SandboxRefund, 'amount'>[]>(),
    ]);
    return {
      order,
      state: outcome?.state === 'PAID' ? 'PAID' : outcome?.state === 'CLOSED' ? 'CLOSED' : 'NOT_PAID',
      outcome: outcome ?? null,
      refunded: refunds.reduce((sum, r) => sum + r.amount, 0),
    };
  }

  async function mustTrade(outTradeNo: string): Promise<Trade> {
    const found = await trade(outTradeNo);
    if (!found) throw new Error(`sandbox ${channel} order ${outTradeNo} vanished`);
    return found;
  }

  async function findRefund(outRequestNo: string): Promise<SandboxRefund | undefined> {
    const models = await ready;
    return (await models.refunds.findOne({ channel, outRequestNo }, { _id: 0 }).lean<SandboxRefund>()) ?? undefined;
  }

  return {
    trade,
    findRefund,

    async open(order) {
      const models = await ready;
      try {
        await models.orders.create({ ...order, _id: keyOf(order.outTradeNo), channel, createdAt: new Date() });
        return { kind: 'created', trade: await mustTrade(order.outTradeNo) };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const existing = await mustTrade(order.outTradeNo);
      const same =
        existing.order.amount === order.amount &&
        existing.order.currency === order.currency &&
        existing.order.subject === order.subject;
      return { kind: same ? 'existing' : 'conflict', trade: existing };
    },

    async settle(outTradeNo, outcome) {
      const models = await ready;
      try {
        await models.outcomes.create({ ...outcome, _id: keyOf(outTradeNo), channel, outTradeNo });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      return mustTrade(outTradeNo);
    },

    async settleAfterClose(outTradeNo, outcome) {
      const models = await ready;
      await models.outcomes.deleteOne({ _id: keyOf(outTradeNo), state: 'CLOSED' });
      try {
        await models.outcomes.create({ ...outcome, _id: keyOf(outTradeNo), channel, outTradeNo });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      return mustTrade(outTradeNo);
    },

    async refund(request) {
      const models = await ready;
      for (let attempt = 0; attempt < MAX_REFUND_ATTEMPTS; attempt += 1) {
        const earlier = await findRefund(request.outRequestNo);
        if (earlier) {
          if (earlier.outTradeNo !== request.outTradeNo || earlier.amount !== request.amount) {
            return { kind: 'refused', why: 'CONFLICTING_RETRY' };
          }
          return { kind: 'refunded', refund: earlier, trade: await mustTrade(request.outTradeNo), replayed: true };
        }
        const current = await trade(request.outTradeNo);
        if (!current) return { kind: 'refused', why: 'TRADE_NOT_EXIST' };
        if (current.state !== 'PAID') return { kind: 'refused', why: 'TRADE_NOT_PAID' };
        // Total and next seq from one read: an insert succeeds only if no refund joined since.
        const earlierRefunds = await models.refunds
          .find({ channel, outTradeNo: request.outTradeNo }, { _id: 0, seq: 1, amount: 1 })
          .lean<Pick<SandboxRefund, 'seq' | 'amount'>[]>();
        const refunded = earlierRefunds.reduce((sum, r) => sum + r.amount, 0);
        if (refunded + request.amount > current.order.amount) return { kind: 'refused', why: 'EXCEEDS_PAID' };
        const lastSeq = earlierRefunds.reduce((max, r) => Math.max(max, r.seq), 0);
        const refund: SandboxRefund = {
          channel,
          outTradeNo: request.outTradeNo,
          outRequestNo: request.outRequestNo,
          seq: lastSeq + 1,
          channelRefundId: request.channelRefundId,
          amount: request.amount,
          reason: request.reason,
          at: new Date(),
        };
        try {
          await models.refunds.create(refund);
          return { kind: 'refunded', refund, trade: await mustTrade(request.outTradeNo), replayed: false };
        } catch (err) {
          // Another refund of this order (or this same refund) got in first: look again.
          if (!isDuplicateKeyError(err)) throw err;
        }
      }
      throw new Error(`sandbox ${channel} refund ${request.outRequestNo} kept colliding with concurrent refunds`);
    },
  };
}

/** Which operations of a channel answer like an outage; kept in MongoDB so every process agrees. */
export interface Outages {
  set(operations: readonly ChannelOperation[], enabled: boolean): Promise<void>;
  isDown(operation: ChannelOperation): Promise<boolean>;
}

export function createOutages(ready: Promise<SandboxChannelModels>, channel: PaymentChannel): Outages {
  return {
    async set(operations, enabled) {
      const models = await ready;
      for (const operation of operations) {
        if (!enabled) {
          await models.faults.deleteOne({ channel, operation });
          continue;
        }
        try {
          await models.faults.create({ channel, operation });
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
        }
      }
    },
    async isDown(operation) {
      const models = await ready;
      return (await models.faults.exists({ channel, operation })) !== null;
    },
  };
}

/** `length` random decimal digits, for the identifiers a channel issues. */
export function randomDigits(length: number): string {
  let digits = '';
  while (digits.length < length) digits += String(randomInt(0, 10));
  return digits;
}

/** `yyyyMMdd` of `at` in Asia/Shanghai, as channels put in their trade numbers. */
export function shanghaiDate(at: Date): string {
  return new Date(at.getTime() + 8 * 60 * 60 * 1000).toISOString().slice(0, 10).replaceAll('-', '');
}
