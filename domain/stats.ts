/**
 * Payment statistics: what one payment contributes to the rollups, and how rollups are summed
 * into the staff API's groups. Pure: the read model's writers (activities) keep the rollups with
 * {@link contributionOf} and {@link contributionDelta}; src/stats/ reads them with
 * {@link summarize}; a recount from the payments themselves goes through the same functions.
 */

/** The counted milestones of a payment: `created` for every payment, the others once reached. */
export const STATS_COUNTS = [
  'created',
  'succeeded',
  'failed',
  'expired',
  'canceled',
  'refunded',
  'partially_refunded',
] as const;
export type StatsCount = (typeof STATS_COUNTS)[number];

export const STATS_GROUP_BY = ['day', 'channel', 'status', 'currency'] as const;
export type StatsGroupBy = (typeof STATS_GROUP_BY)[number];

/** The cell of a payment never opened at a channel. */
export const NO_CHANNEL = 'none';

/**
 * Upper bounds (ms) of the time-to-paid histogram: 100 ms growing by a quarter each step to about
 * 28 hours, then one open bucket. A percentile is the upper bound of the bucket it falls in, so it
 * is at most a quarter above the true value.
 */
export const TIME_TO_PAID_BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let b = 100; b < 100_000_000; b = Math.ceil(b * 1.25)) bounds.push(b);
  return bounds;
})();

export function timeToPaidBucket(ms: number): number {
  const index = TIME_TO_PAID_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return index === -1 ? TIME_TO_PAID_BOUNDS_MS.length : index;
}

/** What the statistics need of a payment, from the workflow's view or the read model. */
export interface PaymentFacts {
  paymentId: string;
  status: string;
  channel: string | null;
  currency: string;
  amount: number;
  /** The payment's timeline: `payment.<status>` events mark the milestones it reached. */
  timeline: readonly { at: string | Date; event: string }[];
  refunds: readonly { refundId: string; amount: number; status: string }[];
}

/** One payment's part in the rollups: everything is counted under one day and one cell. */
export interface Contribution {
  /** The day the payment was accepted (`YYYY-MM-DD` in the statistics' time zone). */
  day: string;
  /** `<channel>~<currency>~<status>`: where the payment is now (a change of status moves it). */
  cell: string;
  counts: StatsCount[];
  captured: number;
  refunded: number;
  refunds: number;
  /** Index into the time-to-paid histogram; -1 when not paid. */
  paidIn: number;
  /** How far the payment's story had gone (its timeline's length): a later write never gives way to an earlier one. */
  v: number;
}

const at = (value: string | Date) => (value instanceof Date ? value.getTime() : Date.parse(value));

/** From the payment's first timeline entry to its `payment.succeeded`; undefined when not paid. */
export function timeToPaidMs(facts: Pick<PaymentFacts, 'timeline'>): number | undefined {
  const first = facts.timeline[0];
  const paid = facts.timeline.find((t) => t.event === 'payment.succeeded');
  return first && paid ? Math.max(at(paid.at) - at(first.at), 0) : undefined;
}

/** `YYYY-MM-DD` of `ms` in a zone `offsetMinutes` east of UTC. */
export function dayOf(ms: number, offsetMinutes: number): string {
  return new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 10);
}

/**
 * What a payment contributes now; undefined while it is still being opened (`processing`, no
 * milestone yet). A refunded payment counts as succeeded too when it was paid through the saga;
 * refunds count once settled (`succeeded`).
 */
export function contributionOf(facts: PaymentFacts, offsetMinutes: number): Contribution | undefined {
  const first = facts.timeline[0];
  if (first === undefined) return undefined;
  // Milestones: the statuses its timeline records, and the one it is in (refunds name their own events).
  const reached = new Set([...facts.timeline.map((t) => t.event), `payment.${facts.status}`]);
  if (
    facts.status === 'processing' &&
    ![...reached].some((e) => e.startsWith('payment.') && e !== 'payment.processing')
  )
    return undefined;
  const counts = STATS_COUNTS.filter((c) => c === 'created' || reached.has(`payment.${c}`));
  const settled = facts.refunds.filter((r) => r.status === 'succeeded');
  const refunded = settled.reduce((sum, r) => sum + r.amount, 0);
  const paidInMs = timeToPaidMs(facts);
  // Money was taken when the payment succeeded, or when a refund (of a late payment) went back.
  const captured = paidInMs !== undefined || settled.length > 0 ? facts.amount : 0;
  return {
    day: dayOf(at(first.at), offsetMinutes),
    cell: `${facts.channel ?? NO_CHANNEL}~${facts.currency}~${facts.status}`,
    counts,
    captured,
    refunded,
    refunds: settled.length,
    paidIn: paidInMs === undefined ? -1 : timeToPaidBucket(paidInMs),
    v: facts.timeline.length,
  };
}

/** The `$inc` a contribution makes to its day's rollup (field paths under `cells`). */
function increments(c: Contribution | undefined, sign: 1 | -1, into: Map<string, number>): void {
  if (c === undefined) return;
  const add = (path: string, n: number) => {
    if (n !== 0) into.set(path, (into.get(path) ?? 0) + sign * n);
  };
  const base = `cells.${c.cell}`;
  for (const count of c.counts) add(`${base}.n.${count}`, 1);
  add(`${base}.captured`, c.captured);
  add(`${base}.refunded`, c.refunded);
  add(`${base}.refunds`, c.refunds);
  add(`${base}.paid`, c.captured > 0 ? 1 : 0);
  add(`${base}.refundedPayments`, c.refunds > 0 ? 1 : 0);
  if (c.paidIn >= 0) add(`${base}.paidIn.${c.paidIn}`, 1);
}

/**
 * The `$inc` that moves a day's rollup from `before` to `after` (both of the same day): empty when
 * nothing changed.
 */
export function contributionDelta(before: Contribution | undefined, after: Contribution | undefined) {
  const inc = new Map<string, number>();
  increments(before, -1, inc);
  increments(after, 1, inc);
  return Object.fromEntries([...inc].filter(([, n]) => n !== 0));
}

/** A cell of a rollup as stored: counts, amounts, histogram. */
export interface RollupCell {
  n?: Partial<Record<StatsCount, number>>;
  captured?: number;
  refunded?: number;
  refunds?: number;
  paid?: number;
  refundedPayments?: number;
  paidIn?: Record<string, number>;
}

/** Cells of one day, from the rollups or a recount. */
export interface DayCells {
  day: string;
  cells: Record<string, RollupCell>;
}

/** Adds a contribution to a day's cells, as the rollup's `$inc` would. */
export function addContribution(days: Map<string, DayCells>, c: Contribution): void {
  const day = days.get(c.day) ?? { day: c.day, cells: {} };
  days.set(c.day, day);
  for (const [path, n] of Object.entries(contributionDelta(undefined, c))) {
    const parts = path.split('.').slice(1);
    let node = day.cells as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    const last = parts.at(-1) as string;
    node[last] = ((node[last] as number | undefined) ?? 0) + n;
  }
}

export interface StatsGroup {
  key: string;
  counts: Record<StatsCount, number>;
  amounts: { currency: string; captured: number; refunded: number }[];
  /** Succeeded over the payments that reached an end (succeeded, failed, expired, canceled); null when none did. */
  successRate: number | null;
  refundCount: number;
  /** Payments with at least one settled refund, over those whose money was taken; null when none was. */
  refundRate: number | null;
  timeToPaidMs: { p50: number | null; p95: number | null };
}

function percentile(histogram: number[], total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i += 1) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return TIME_TO_PAID_BOUNDS_MS[i] ?? (TIME_TO_PAID_BOUNDS_MS.at(-1) as number);
  }
  return null;
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);

/**
 * The staff API's groups from days of cells: amounts per currency (never summed across), rates
 * and percentiles per group. `status` groups by where the payments are now; their counts say
 * which milestones they reached on the way. Groups come sorted by key.
 */
export function summarize(days: readonly DayCells[], groupBy: StatsGroupBy): StatsGroup[] {
  interface Acc {
    counts: Record<StatsCount, number>;
    amounts: Map<string, { captured: number; refunded: number }>;
    refunds: number;
    paid: number;
    refundedPayments: number;
    histogram: number[];
  }
  const groups = new Map<string, Acc>();
  const accOf = (key: string): Acc => {
    let acc = groups.get(key);
    if (!acc) {
      acc = {
        counts: Object.fromEntries(STATS_COUNTS.map((c) => [c, 0])) as Record<StatsCount, number>,
        amounts: new Map(),
        refunds: 0,
        paid: 0,
        refundedPayments: 0,
        histogram: [],
      };
      groups.set(key, acc);
    }
    return acc;
  };
  const addCell = (acc: Acc, currency: string, cell: RollupCell) => {
    for (const count of STATS_COUNTS) acc.counts[count] += cell.n?.[count] ?? 0;
    const money = acc.amounts.get(currency) ?? { captured: 0, refunded: 0 };
    money.captured += cell.captured ?? 0;
    money.refunded += cell.refunded ?? 0;
    acc.amounts.set(currency, money);
    acc.refunds += cell.refunds ?? 0;
    acc.paid += cell.paid ?? 0;
    acc.refundedPayments += cell.refundedPayments ?? 0;
    for (const [bucket, n] of Object.entries(cell.paidIn ?? {})) {
      acc.histogram[Number(bucket)] = (acc.histogram[Number(bucket)] ?? 0) + n;
    }
  };
  for (const { day, cells } of days) {
    for (const [cellKey, cell] of Object.entries(cells)) {
      // A cell every payment has moved out of (its status changed) holds nothing.
      if ((cell.n?.created ?? 0) === 0) continue;
      const [channel = NO_CHANNEL, currency = '', status = ''] = cellKey.split('~');
      const key = { day, channel, currency, status }[groupBy];
      addCell(accOf(key), currency, cell);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, acc]) => {
      const { counts } = acc;
      const ended = counts.succeeded + counts.failed + counts.expired + counts.canceled;
      const paid = Array.from(acc.histogram, (n) => n ?? 0);
      const paidTotal = paid.reduce((sum, n) => sum + n, 0);
      return {
        key,
        counts,
        amounts: [...acc.amounts.entries()]
          .filter(([, m]) => m.captured !== 0 || m.refunded !== 0 || groupBy === 'currency')
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([currency, m]) => ({ currency, ...m })),
        successRate: ratio(counts.succeeded, ended),
        refundCount: acc.refunds,
        refundRate: ratio(acc.refundedPayments, acc.paid),
        timeToPaidMs: { p50: percentile(paid, paidTotal, 0.5), p95: percentile(paid, paidTotal, 0.95) },
      };
    });
}
