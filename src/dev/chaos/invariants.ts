import { setTimeout as sleep } from 'node:timers/promises';
import { unionpayRefundOrderIdOf } from '../../channels/unionpay/protocol.js';
import {
  EXPECTED_STATUSES,
  TERMINAL_STATUSES,
  platformRequest,
  type Journey,
  type JourneyContext,
} from './journeys.js';

/** One property every payment of the run must have, and the payments that broke it. */
export interface InvariantResult {
  name: string;
  checked: number;
  violations: string[];
}

interface PaymentView {
  paymentId: string;
  status: string;
  amount: number;
  channelTradeNo: string | null;
  voucher: { voucherId: string } | null;
  refunds: { refundId: string; amount: number; status: string }[];
}

interface Books {
  orders: {
    channel: string;
    state: 'NOT_PAID' | 'PAID' | 'CLOSED';
    channelTradeNo: string | null;
    captured: number;
    refunded: number;
    refunds: { outRequestNo: string; amount: number; state: string }[];
    notifications: { kind: 'payment' | 'refund'; outRequestNo: string | null; acknowledgedAt: string }[];
  }[];
  totals: { currency: string; captured: number; refunded: number }[];
}

interface PlatformEvent {
  eventId: string;
  type: string;
}

/** Statuses of a payment the channel took money for (a `refunded` one may have given it all back). */
const PAID_STATUSES = new Set(['succeeded', 'partially_refunded', 'refunded']);
/** Statuses of a payment whose learner got the course: one voucher, one fulfilment. */
const FULFILLED_STATUSES = new Set(['succeeded', 'partially_refunded']);

async function sandboxGet<T>(context: JourneyContext, path: string): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const res = await fetch(`${context.sandboxUrl}/sandbox/v1${path}`, {
        headers: { authorization: `Bearer ${context.sandboxToken}` },
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 200) return (await res.json()) as T;
      if (attempt >= 5) throw new Error(`sandbox GET ${path} answered ${res.status}`);
    } catch (err) {
      if (attempt >= 5) throw err;
    }
    await sleep(1_000);
  }
}

/**
 * Waits until every payment of the run is in a terminal state and no refund is still processing at
 * the channel or in the product (or `deadlineMs` passes), then answers each payment's view.
 */
export async function settle(
  context: JourneyContext,
  journeys: Journey[],
  deadlineMs: number,
  onProgress: (settled: number, total: number) => void,
): Promise<Map<string, PaymentView>> {
  const views = new Map<string, PaymentView>();
  const pending = journeys.filter((j) => j.paymentId !== undefined);
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    for (const journey of pending) {
      const id = journey.paymentId as string;
      const known = views.get(id);
      if (known && isSettled(known)) continue;
      // A payment whose workflow cannot answer (its workflow task failing) stays unsettled and is
      // reported by the invariants; it must not end the run.
      const res = await platformRequest(context, journey.index, 'GET', `/v1/payments/${id}`).catch(() => undefined);
      if (res?.status === 200) views.set(id, res.body as PaymentView);
    }
    const settled = pending.filter((j) => {
      const view = views.get(j.paymentId as string);
      return view !== undefined && isSettled(view);
    }).length;
    onProgress(settled, pending.length);
    if (settled === pending.length) break;
    await sleep(2_000);
  }
  return views;
}

function isSettled(view: PaymentView): boolean {
  return (
    TERMINAL_STATUSES.has(view.status) && view.refunds.every((r) => r.status !== 'pending' && r.status !== 'processing')
  );
}

/**
 * Checks, from the outside (the API, the simulated channels' books, the platform stub), what the
 * run must never break: every payment ends; a paid payment has one voucher and one fulfilment;
 * money the channel captured less what it refunded equals what the product says; no refund twice;
 * every notification the channel saw acknowledged is reflected in the payment.
 */
export async function checkInvariants(
  context: JourneyContext,
  journeys: Journey[],
  views: Map<string, PaymentView>,
): Promise<InvariantResult[]> {
  const results = {
    started: { name: 'every journey got its payment created', checked: 0, violations: [] as string[] },
    terminal: { name: 'every payment reached a terminal state', checked: 0, violations: [] as string[] },
    planned: { name: 'every payment ended as its learner acted', checked: 0, violations: [] as string[] },
    voucher: { name: 'each paid payment has exactly one voucher', checked: 0, violations: [] as string[] },
    fulfilment: {
      name: 'each paid payment was fulfilled exactly once at the platform (none for unpaid)',
      checked: 0,
      violations: [] as string[],
    },
    charged: { name: 'at most one paid channel order per payment', checked: 0, violations: [] as string[] },
    money: {
      name: 'captured less refunded at the channel equals what the product says',
      checked: 0,
      violations: [] as string[],
    },
    refunds: {
      name: 'no refund made twice; never more refunded than captured',
      checked: 0,
      violations: [] as string[],
    },
    acknowledged: {
      name: 'every notification acknowledged to the channel is reflected in the payment',
      checked: 0,
      violations: [] as string[],
    },
  };

  for (const journey of journeys) {
    results.started.checked += 1;
    if (!journey.paymentId) {
      results.started.violations.push(`${journey.orderId}: ${journey.error ?? 'no payment id'}`);
      continue;
    }
    const id = journey.paymentId;
    const view = views.get(id);
    results.terminal.checked += 1;
    if (!view || !TERMINAL_STATUSES.has(view.status)) {
      results.terminal.violations.push(`${id}: ${view?.status ?? 'never read'}`);
      continue;
    }
    results.planned.checked += 1;
    if (!EXPECTED_STATUSES[journey.plan].includes(view.status) || journey.error) {
      results.planned.violations.push(
        `${id} (${journey.plan}): ${view.status}${journey.error ? `; ${journey.error}` : ''}`,
      );
    }

    const [books, events] = await Promise.all([
      sandboxGet<Books>(context, `/payments/${id}/books`),
      sandboxGet<{ events: PlatformEvent[] }>(
        context,
        `/platform/events?orderId=${encodeURIComponent(journey.orderId)}`,
      ),
    ]);
    const paid = PAID_STATUSES.has(view.status);
    const fulfilled = FULFILLED_STATUSES.has(view.status);

    results.voucher.checked += 1;
    if (fulfilled) {
      const voucher = view.voucher
        ? await platformRequest(context, journey.index, 'GET', `/v1/vouchers/${view.voucher.voucherId}`)
        : undefined;
      if (!voucher || voucher.status !== 200)
        results.voucher.violations.push(`${id}: ${view.status} without a readable voucher`);
    } else if (!paid && view.voucher) {
      results.voucher.violations.push(`${id}: ${view.status} yet carries voucher ${view.voucher.voucherId}`);
    }

    results.fulfilment.checked += 1;
    const fulfilments = events.events.filter((e) => e.type === 'payment.succeeded').length;
    if (paid && !fulfilled ? fulfilments > 1 : fulfilments !== (fulfilled ? 1 : 0)) {
      results.fulfilment.violations.push(
        `${id}: ${view.status}, ${fulfilments} payment.succeeded events at the platform`,
      );
    }

    results.charged.checked += 1;
    const paidOrders = books.orders.filter((o) => o.state === 'PAID');
    if (paidOrders.length > 1) {
      results.charged.violations.push(`${id}: paid at ${paidOrders.map((o) => o.channel).join(' and ')}`);
    }

    results.money.checked += 1;
    const atChannel = books.totals.reduce((sum, t) => sum + t.captured - t.refunded, 0);
    const refundedInProduct = view.refunds
      .filter((r) => r.status === 'succeeded')
      .reduce((sum, r) => sum + r.amount, 0);
    const inProduct = paid ? view.amount - refundedInProduct : 0;
    if (atChannel !== inProduct) {
      results.money.violations.push(`${id}: ${view.status}; channel holds ${atChannel}, the product says ${inProduct}`);
    }

    results.refunds.checked += 1;
    for (const order of books.orders) {
      const requests = order.refunds.map((r) => r.outRequestNo);
      if (new Set(requests).size !== requests.length)
        results.refunds.violations.push(`${id}: a refund id twice at ${order.channel}`);
      if (order.refunded > order.captured) {
        results.refunds.violations.push(`${id}: ${order.channel} refunded ${order.refunded} of ${order.captured}`);
      }
    }
    const channelRefunds = books.orders.flatMap((o) => o.refunds.filter((r) => r.state === 'SUCCEEDED'));
    const productRefunds = view.refunds.filter((r) => r.status === 'succeeded');
    if (paid && channelRefunds.length !== productRefunds.length) {
      results.refunds.violations.push(
        `${id}: ${channelRefunds.length} refunds at the channel, ${productRefunds.length} in the product`,
      );
    }

    for (const order of books.orders) {
      for (const notice of order.notifications) {
        results.acknowledged.checked += 1;
        if (notice.kind === 'payment') {
          // The channel was told "received": the payment took this charge, or gave it all back.
          const reflected =
            (paid && view.channelTradeNo === order.channelTradeNo) || (!paid && atChannel === 0 && order.refunded > 0);
          if (!reflected) {
            results.acknowledged.violations.push(
              `${id}: ${order.channel} had its payment notification acknowledged, but the payment is ${view.status}`,
            );
          }
        } else if (
          !view.refunds.some(
            // UnionPay books a refund under an order id of its own, made from our refund id.
            (r) =>
              (r.refundId === notice.outRequestNo || unionpayRefundOrderIdOf(r.refundId) === notice.outRequestNo) &&
              r.status === 'succeeded',
          )
        ) {
          results.acknowledged.violations.push(
            `${id}: ${order.channel} had refund ${notice.outRequestNo ?? '?'} acknowledged, but the payment shows it not succeeded`,
          );
        }
      }
    }
  }
  return Object.values(results);
}
