import { randomInt } from 'node:crypto';
import type { PaymentChannel } from '../../../domain/payment.js';
import type { ChannelOperation } from '../../channels/types.js';
import { isDuplicateKeyError } from '../../db/errors.js';
import {
  notificationKey,
  type SandboxApproval,
  type SandboxChannelModels,
  type SandboxNotification,
  type SandboxOrder,
  type SandboxOutcome,
  type SandboxRefund,
} from './models.js';
import { DEFAULT_REFUND_BEHAVIOUR, type RefundBehaviour } from './types.js';

/** A simulated channel's view of one order: what was created, how it ended, what was refunded. */
export interface Trade {
  order: SandboxOrder;
  /** `NOT_PAID` until paid or closed; a paid order stays `PAID` after refunds (see `refunded`). */
  state: 'NOT_PAID' | 'PAID' | 'CLOSED';
  outcome: SandboxOutcome | null;
  /** Minor units whose refund has succeeded: back with the payer. */
  refunded: number;
  /**
   * Minor units taken from the refundable balance by refunds: processing, succeeded or abnormal
   * ones (a closed refund gives its amount back). The refundable balance is the order's amount
   * less this.
   */
  refundHeld: number;
}

/** Where a refund stands at the channel at a given instant. */
export type RefundState = 'PROCESSING' | 'SUCCEEDED' | 'ABNORMAL' | 'CLOSED';

type RefundTiming = Pick<SandboxRefund, 'at' | 'settlesAt' | 'outcome'>;

/** A refund's state at `now`: processing until it settles, then its outcome. */
export function refundStateAt(refund: RefundTiming, now: Date = new Date()): RefundState {
  const settlesAt = refund.settlesAt ?? refund.at;
  if (now.getTime() < settlesAt.getTime()) return 'PROCESSING';
  switch (refund.outcome ?? 'success') {
    case 'success':
      return 'SUCCEEDED';
    case 'abnormal':
      return 'ABNORMAL';
    case 'closed':
      return 'CLOSED';
  }
}

/** When the refund settled or will settle. */
export function refundSettlesAt(refund: RefundTiming): Date {
  return refund.settlesAt ?? refund.at;
}

/** Minor units held and refunded by `refunds` at `now`. */
function refundTotals(
  refunds: readonly (RefundTiming & Pick<SandboxRefund, 'amount'>)[],
  now: Date,
): Pick<Trade, 'refunded' | 'refundHeld'> {
  let refunded = 0;
  let refundHeld = 0;
  for (const refund of refunds) {
    const state = refundStateAt(refund, now);
    if (state !== 'CLOSED') refundHeld += refund.amount;
    if (state === 'SUCCEEDED') refunded += refund.amount;
  }
  return { refunded, refundHeld };
}

const REFUND_TOTAL_FIELDS = { _id: 0, amount: 1, at: 1, settlesAt: 1, outcome: 1 } as const;

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
  /** When the refund stops processing (now for one settled in the answer). */
  settlesAt: Date;
  outcome: RefundBehaviour['outcome'];
  /** Where its outcome is notified; '' for nowhere. */
  notifyUrl: string;
  /** What else the channel finds the refund by (UnionPay: its `txnTime`). */
  reference?: string;
}

export interface OrderBook {
  /** Registers an order; idempotent by `out_trade_no` for the same amount, currency and subject. */
  open(
    order: Omit<SandboxOrder, '_id' | 'channel' | 'createdAt' | 'reference'> & { reference?: string | null },
  ): Promise<OpenOrderResult>;
  trade(outTradeNo: string): Promise<Trade | undefined>;
  /**
   * Ends the order's payment window as paid or closed, unless it has already ended; answers the
   * trade as it now stands, so the caller sees whether it won.
   */
  settle(outTradeNo: string, outcome: Omit<SandboxOutcome, '_id' | 'channel' | 'outTradeNo'>): Promise<Trade>;
  /** Fault injection: replaces a closed order's outcome with a payment (one that was in flight). */
  settleAfterClose(outTradeNo: string, outcome: Omit<SandboxOutcome, '_id' | 'channel' | 'outTradeNo'>): Promise<Trade>;
  /**
   * Refunds at most once per `outRequestNo` (a retry answers the first refund, however it ended)
   * and never more in total than the refundable balance, even under concurrent refunds of one
   * order. The refund is recorded at once, processing until `settlesAt`.
   */
  refund(request: RefundRequestAtChannel): Promise<RefundDecision>;
  findRefund(outRequestNo: string): Promise<SandboxRefund | undefined>;
  /** The `out_trade_no` of the order paid as `channelTradeNo` (UnionPay refunds name the payment by it). */
  orderOfTradeNo(channelTradeNo: string): Promise<string | undefined>;
  /** Records the payer's approval of an unpaid order (channels where the merchant captures), replacing an earlier one. */
  approve(outTradeNo: string, approval: Omit<SandboxApproval, '_id' | 'channel' | 'outTradeNo'>): Promise<void>;
  /** The order's standing approval, if the payer approved it and no capture declined since. */
  approval(outTradeNo: string): Promise<SandboxApproval | undefined>;
  /** A declined capture withdraws the approval: the payer must approve again. */
  withdrawApproval(outTradeNo: string): Promise<void>;
  /** The order with every refund made against it, oldest first; undefined when there is no such order. */
  ledger(
    outTradeNo: string,
  ): Promise<{ trade: Trade; refunds: SandboxRefund[]; notifications: SandboxNotification[] } | undefined>;
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
      models.refunds.find({ channel, outTradeNo }, REFUND_TOTAL_FIELDS).lean<SandboxRefund[]>(),
    ]);
    return {
      order,
      state: outcome?.state === 'PAID' ? 'PAID' : outcome?.state === 'CLOSED' ? 'CLOSED' : 'NOT_PAID',
      outcome: outcome ?? null,
      ...refundTotals(refunds, new Date()),
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

    async approve(outTradeNo, approval) {
      const models = await ready;
      const _id = keyOf(outTradeNo);
      await models.approvals.replaceOne({ _id }, { ...approval, _id, channel, outTradeNo }, { upsert: true });
    },

    async approval(outTradeNo) {
      const models = await ready;
      return (await models.approvals.findOne({ _id: keyOf(outTradeNo) }).lean<SandboxApproval>()) ?? undefined;
    },

    async withdrawApproval(outTradeNo) {
      const models = await ready;
      await models.approvals.deleteOne({ _id: keyOf(outTradeNo) });
    },

    async orderOfTradeNo(channelTradeNo) {
      const models = await ready;
      const outcome = await models.outcomes
        .findOne({ channel, channelTradeNo, state: 'PAID' }, { _id: 0, outTradeNo: 1 })
        .lean<Pick<SandboxOutcome, 'outTradeNo'>>();
      return outcome?.outTradeNo ?? undefined;
    },

    async ledger(outTradeNo) {
      const models = await ready;
      const [found, refunds] = await Promise.all([
        trade(outTradeNo),
        models.refunds.find({ channel, outTradeNo }, { _id: 0 }).sort({ seq: 1 }).lean<SandboxRefund[]>(),
      ]);
      if (!found) return undefined;
      // Each by `_id`: the one lookup every MongoDB-wire server answers from an index.
      const keys = [
        notificationKey(channel, outTradeNo, 'payment', null),
        ...refunds.map((r) => notificationKey(channel, outTradeNo, 'refund', r.outRequestNo)),
      ];
      const notifications = (
        await Promise.all(
          keys.map((_id) => models.notifications.findOne({ _id }, { _id: 0 }).lean<SandboxNotification>()),
        )
      ).filter((n) => n !== null);
      return { trade: found, refunds, notifications };
    },

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
        // Balance and next seq from one read: an insert succeeds only if no refund joined since.
        // Balance only grows back over time (a closed refund settling), so a stale read is safe.
        const now = new Date();
        const earlierRefunds = await models.refunds
          .find({ channel, outTradeNo: request.outTradeNo }, { ...REFUND_TOTAL_FIELDS, seq: 1 })
          .lean<SandboxRefund[]>();
        const { refundHeld } = refundTotals(earlierRefunds, now);
        if (refundHeld + request.amount > current.order.amount) {
          // This same refund may have joined since it was looked for (a concurrent retry): answer it.
          if (await findRefund(request.outRequestNo)) continue;
          return { kind: 'refused', why: 'EXCEEDS_PAID' };
        }
        const lastSeq = earlierRefunds.reduce((max, r) => Math.max(max, r.seq), 0);
        const refund: SandboxRefund = {
          channel,
          outTradeNo: request.outTradeNo,
          outRequestNo: request.outRequestNo,
          seq: lastSeq + 1,
          channelRefundId: request.channelRefundId,
          amount: request.amount,
          reason: request.reason,
          at: now,
          settlesAt: request.settlesAt.getTime() < now.getTime() ? now : request.settlesAt,
          outcome: request.outcome,
          notifyUrl: request.notifyUrl,
          reference: request.reference ?? null,
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

/** How later refunds at a channel end; kept in MongoDB so every process agrees. */
export interface RefundBehaviours {
  /** Stores `behaviour` for refunds requested from now on; answers it. */
  set(behaviour: RefundBehaviour): Promise<RefundBehaviour>;
  /** The stored behaviour, or {@link DEFAULT_REFUND_BEHAVIOUR}. */
  get(): Promise<RefundBehaviour>;
}

export function createRefundBehaviours(
  ready: Promise<SandboxChannelModels>,
  channel: PaymentChannel,
): RefundBehaviours {
  return {
    async set(behaviour) {
      const models = await ready;
      const { mode, outcome, notify } = behaviour;
      await models.refundBehaviours.replaceOne(
        { _id: channel },
        { _id: channel, mode, outcome, notify, updatedAt: new Date() },
        { upsert: true },
      );
      return { mode, outcome, notify };
    },
    async get() {
      const models = await ready;
      const stored = await models.refundBehaviours.findOne({ _id: channel }).lean();
      if (!stored) return { ...DEFAULT_REFUND_BEHAVIOUR };
      return {
        mode: stored.mode === 'immediate' ? 'immediate' : 'async',
        outcome: stored.outcome === 'abnormal' || stored.outcome === 'closed' ? stored.outcome : 'success',
        notify: stored.notify,
      };
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
