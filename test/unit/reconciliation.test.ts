import { describe, expect, it } from 'vitest';
import {
  actionsFor,
  dayBounds,
  dayOf,
  isCalendarDate,
  reconcile,
  type BillLine,
  type SystemTransaction,
} from '../../domain/reconciliation.js';

const line = (overrides: Partial<BillLine> = {}): BillLine => ({
  kind: 'payment',
  paymentId: 'pay_a',
  refundNo: null,
  channelTradeNo: 'T1',
  amount: 100,
  currency: 'CNY',
  status: 'SUCCESS',
  succeeded: true,
  at: '2026-12-01T02:00:00.000Z',
  ...overrides,
});
const recorded = (overrides: Partial<SystemTransaction> = {}): SystemTransaction => ({
  kind: 'payment',
  paymentId: 'pay_a',
  refundId: null,
  refundNo: null,
  amount: 100,
  currency: 'CNY',
  status: 'succeeded',
  succeeded: true,
  inDay: true,
  ...overrides,
});

describe('matching a bill to the system', () => {
  it('matches equal payments and refunds and totals them per currency', () => {
    const outcome = reconcile(
      [
        line(),
        line({ paymentId: 'pay_b', currency: 'USD', amount: 7 }),
        line({ kind: 'refund', refundNo: 'rfd_1', amount: 30 }),
      ],
      [
        recorded(),
        recorded({ paymentId: 'pay_b', currency: 'USD', amount: 7 }),
        recorded({ kind: 'refund', refundId: 'rfd_1', refundNo: 'rfd_1', amount: 30 }),
      ],
    );
    expect(outcome.exceptions).toEqual([]);
    expect(outcome.matched).toEqual({
      payments: {
        count: 2,
        amounts: [
          { currency: 'CNY', amount: 100 },
          { currency: 'USD', amount: 7 },
        ],
      },
      refunds: { count: 1, amounts: [{ currency: 'CNY', amount: 30 }] },
    });
  });

  it('names one finding per transaction: missing either side, state, currency before amount', () => {
    const outcome = reconcile(
      [
        line({ paymentId: 'pay_unknown' }),
        line({ paymentId: 'pay_waiting' }),
        line({ paymentId: 'pay_revoked', succeeded: false, status: 'REVOKED' }),
        line({ paymentId: 'pay_fx', currency: 'USD', amount: 1 }),
        line({ paymentId: 'pay_more', amount: 101 }),
        line({ paymentId: 'pay_closed', succeeded: false, status: 'CLOSED' }),
      ],
      [
        recorded({ paymentId: 'pay_waiting', status: 'awaiting_payment', succeeded: false }),
        recorded({ paymentId: 'pay_revoked' }),
        recorded({ paymentId: 'pay_fx' }),
        recorded({ paymentId: 'pay_more' }),
        recorded({ paymentId: 'pay_closed', status: 'expired', succeeded: false }),
        recorded({ paymentId: 'pay_unbilled' }),
        recorded({ paymentId: 'pay_yesterday', inDay: false }),
      ],
    );
    expect(outcome.exceptions.map((e) => [e.kind, e.paymentId])).toEqual([
      ['missing_here', 'pay_unknown'],
      ['missing_here', 'pay_waiting'],
      ['status_mismatch', 'pay_revoked'],
      ['currency_mismatch', 'pay_fx'],
      ['amount_mismatch', 'pay_more'],
      ['missing_at_channel', 'pay_unbilled'],
    ]);
    expect(outcome.exceptions[0]).toMatchObject({ here: null, atChannel: { amount: 100, status: 'SUCCESS' } });
    expect(outcome.exceptions[5]).toMatchObject({ here: { amount: 100 }, atChannel: null });
  });

  it('counts a line the bill repeats as a charge the system has no second success for', () => {
    const outcome = reconcile([line(), line()], [recorded()]);
    expect(outcome.exceptions.map((e) => e.kind)).toEqual(['missing_here']);
    expect(outcome.matched.payments.count).toBe(1);
  });
});

describe('how an exception is resolved', () => {
  it('adopts a charge the payment still waits for, refunds one after it ended, else explains', () => {
    const missing = { kind: 'missing_here', transaction: 'payment' } as const;
    expect(actionsFor(missing, 'awaiting_payment')).toEqual(['adopt', 'explain']);
    expect(actionsFor(missing, 'expired')).toEqual(['refund', 'explain']);
    expect(actionsFor(missing, undefined)).toEqual(['explain']);
    expect(actionsFor({ kind: 'amount_mismatch', transaction: 'payment' }, 'succeeded')).toEqual(['explain', 'refund']);
    expect(actionsFor({ kind: 'amount_mismatch', transaction: 'payment' }, 'refunded')).toEqual(['explain']);
  });
});

describe('the channels’ day', () => {
  it('is cut at midnight Beijing time', () => {
    expect(dayOf(new Date('2026-12-01T15:59:59Z'), 480)).toBe('2026-12-01');
    expect(dayOf(new Date('2026-12-01T16:00:00Z'), 480)).toBe('2026-12-02');
    expect(dayBounds('2026-12-02', 480)).toEqual({
      start: new Date('2026-12-01T16:00:00Z'),
      end: new Date('2026-12-02T16:00:00Z'),
    });
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2028-02-29')).toBe(true);
  });
});
