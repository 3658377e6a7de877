import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addContribution,
  contributionDelta,
  contributionOf,
  dayOf,
  summarize,
  timeToPaidBucket,
  TIME_TO_PAID_BOUNDS_MS,
  type DayCells,
  type PaymentFacts,
} from '../../domain/stats.js';

const BEIJING = 480;
const T0 = Date.parse('2026-12-02T16:30:00Z'); // 00:30 on 3 December in Beijing

function facts(overrides: Partial<PaymentFacts> & { events?: [string, number][] } = {}): PaymentFacts {
  const { events = [['payment.processing', 0]], ...rest } = overrides;
  return {
    paymentId: 'pay_a',
    status: 'processing',
    channel: null,
    currency: 'CNY',
    amount: 9_900,
    timeline: events.map(([event, offset]) => ({ at: new Date(T0 + offset).toISOString(), event })),
    refunds: [],
    ...rest,
  };
}

/** Applies a `$inc` to a day's cells as MongoDB would. */
function applyInc(day: DayCells, inc: Record<string, number>): void {
  for (const [path, n] of Object.entries(inc)) {
    const parts = path.split('.').slice(1);
    let node = day.cells as Record<string, any>;
    for (const part of parts.slice(0, -1)) node = node[part] ??= {};
    node[parts.at(-1)!] = (node[parts.at(-1)!] ?? 0) + n;
  }
}

describe('payment statistics (domain/stats.ts)', () => {
  it('counts nothing for a payment still being opened, and counts it created once it has a status', () => {
    expect(contributionOf(facts(), BEIJING)).toBeUndefined();
    const opened = contributionOf(
      facts({
        status: 'awaiting_payment',
        channel: 'alipay',
        events: [
          ['payment.processing', 0],
          ['payment.awaiting_payment', 300],
        ],
      }),
      BEIJING,
    );
    expect(opened).toEqual({
      day: '2026-12-03',
      cell: 'alipay~CNY~awaiting_payment',
      counts: ['created'],
      captured: 0,
      refunded: 0,
      refunds: 0,
      paidIn: -1,
      v: 2,
    });
  });

  it('days follow the configured zone: 00:30 in Beijing is still the day before in UTC', () => {
    expect(dayOf(T0, BEIJING)).toBe('2026-12-03');
    expect(dayOf(T0, 0)).toBe('2026-12-02');
  });

  it('a paid then partly refunded payment counts succeeded and partially_refunded, its capture, its settled refund only', () => {
    const c = contributionOf(
      facts({
        status: 'partially_refunded',
        channel: 'wechatpay',
        events: [
          ['payment.processing', 0],
          ['payment.awaiting_payment', 200],
          ['payment.succeeded', 42_000],
          ['payment.partially_refunded', 90_000],
        ],
        refunds: [
          { refundId: 'r1', amount: 1_000, status: 'succeeded' },
          { refundId: 'r2', amount: 2_000, status: 'processing' },
        ],
      }),
      BEIJING,
    )!;
    expect(c.counts).toEqual(['created', 'succeeded', 'partially_refunded']);
    expect([c.captured, c.refunded, c.refunds]).toEqual([9_900, 1_000, 1]);
    expect(TIME_TO_PAID_BOUNDS_MS[c.paidIn]).toBeGreaterThanOrEqual(42_000);
    expect(TIME_TO_PAID_BOUNDS_MS[c.paidIn - 1]).toBeLessThan(42_000);
  });

  it('a late payment refunded after expiry counts its money taken and returned, not a success', () => {
    const c = contributionOf(
      facts({
        status: 'refunded',
        channel: 'alipay',
        events: [
          ['payment.processing', 0],
          ['payment.awaiting_payment', 100],
          ['payment.expired', 900_000],
          ['payment.refunded', 960_000],
        ],
        refunds: [{ refundId: 'late', amount: 9_900, status: 'succeeded' }],
      }),
      BEIJING,
    )!;
    expect(c.counts).toEqual(['created', 'expired', 'refunded']);
    expect([c.captured, c.refunded, c.paidIn]).toEqual([9_900, 9_900, -1]);
  });

  it('percentiles are the upper bound of the histogram bucket they fall in, never more than a quarter above', () => {
    for (const ms of [1, 99, 100, 101, 1_234, 59_999, 3_600_000]) {
      const bound = TIME_TO_PAID_BOUNDS_MS[timeToPaidBucket(ms)]!;
      expect(bound).toBeGreaterThanOrEqual(ms);
      expect(bound).toBeLessThanOrEqual(Math.max(100, ms * 1.25 + 1));
    }
  });

  it('groups amounts per currency and never sums them across currencies', () => {
    const days = new Map<string, DayCells>();
    const paid = (paymentId: string, currency: string, amount: number) =>
      contributionOf(
        facts({
          paymentId,
          currency,
          amount,
          status: 'succeeded',
          channel: 'card',
          events: [
            ['payment.processing', 0],
            ['payment.succeeded', 5_000],
          ],
        }),
        BEIJING,
      )!;
    addContribution(days, paid('p1', 'USD', 4_900));
    addContribution(days, paid('p2', 'EUR', 3_000));
    addContribution(days, paid('p3', 'USD', 100));
    const [card] = summarize([...days.values()], 'channel');
    expect(card).toMatchObject({
      key: 'card',
      amounts: [
        { currency: 'EUR', captured: 3_000, refunded: 0 },
        { currency: 'USD', captured: 5_000, refunded: 0 },
      ],
      successRate: 1,
      refundRate: 0,
    });
    expect(card!.counts.succeeded).toBe(3);
  });

  it('applying each write’s delta, with repeats, always equals counting each payment once as it ends up', () => {
    const statuses = ['awaiting_payment', 'succeeded', 'partially_refunded', 'refunded'] as const;
    const payment = fc.record({
      steps: fc.integer({ min: 1, max: 4 }),
      channel: fc.constantFrom('alipay', 'wechatpay', 'card'),
      currency: fc.constantFrom('CNY', 'USD'),
      amount: fc.integer({ min: 1, max: 1_000_000 }),
      repeats: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
      canceled: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(payment, { minLength: 1, maxLength: 12 }), (payments) => {
        const rollup: DayCells = { day: '2026-12-03', cells: {} };
        const recount = new Map<string, DayCells>();
        payments.forEach((p, i) => {
          let last: ReturnType<typeof contributionOf>;
          const snapshots = (p.canceled ? (['awaiting_payment', 'canceled'] as const) : statuses.slice(0, p.steps)).map(
            (status, k, all) =>
              facts({
                paymentId: `pay_${i}`,
                status,
                channel: p.channel,
                currency: p.currency,
                amount: p.amount,
                events: [
                  ['payment.processing', 0] as [string, number],
                  ...all.slice(0, k + 1).map((s, j) => [`payment.${s}`, 1_000 * (j + 1)] as [string, number]),
                ],
                refunds: status.endsWith('refunded') ? [{ refundId: `r${i}`, amount: 1, status: 'succeeded' }] : [],
              }),
          );
          snapshots.forEach((snapshot, k) => {
            const next = contributionOf(snapshot, BEIJING);
            // A retried write: the stored contribution already equals the new one, so it adds nothing.
            for (let r = 0; r <= (p.repeats[k] ?? 0); r += 1) {
              applyInc(rollup, contributionDelta(last, next));
              last = next;
            }
          });
          if (last) addContribution(recount, last);
        });
        for (const groupBy of ['day', 'channel', 'status', 'currency'] as const) {
          expect(summarize([rollup], groupBy)).toEqual(summarize([...recount.values()], groupBy));
        }
      }),
    );
  });
});
