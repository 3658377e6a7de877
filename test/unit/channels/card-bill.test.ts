import { describe, expect, it } from 'vitest';
import { parseCardBalanceTransactions } from '../../../src/channels/card/bill.js';
import type { BilledTrade, DayBill } from '../../../src/sandbox/channels/bills.js';
import { cardBalanceTransactions } from '../../../src/sandbox/channels/card/bill.js';
import { intentIdOf } from '../../../src/sandbox/channels/card/protocol.js';

const paidAt = new Date('2026-12-01T02:03:04Z');
const refundedAt = new Date('2026-12-01T09:00:00Z');
const later = (minutes: number) => new Date(paidAt.getTime() + minutes * 60_000);

function buildTrade(overrides: Partial<BilledTrade> = {}): BilledTrade {
  return {
    outTradeNo: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    channelTradeNo: 'ch_000000000000000000000001',
    subject: 'Rust for the web',
    amount: 4_900,
    currency: 'USD',
    createdAt: new Date(paidAt.getTime() - 60_000),
    paidAt,
    buyerId: 'pm_0000000000000001',
    reference: null,
    effective: true,
    ...overrides,
  };
}

/** A dollar day: a charge later partly refunded, a charge shown in euros, and one that failed. */
function buildDay(): DayBill {
  const refunded = buildTrade();
  return {
    channel: 'card',
    date: '2026-12-01',
    trades: [
      refunded,
      buildTrade({
        outTradeNo: 'pay_bbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        channelTradeNo: 'ch_2',
        currency: 'EUR',
        paidAt: later(1),
      }),
      buildTrade({
        outTradeNo: 'pay_cccccccccccccccccccccccccccc',
        channelTradeNo: 'ch_3',
        effective: false,
        paidAt: later(2),
      }),
    ],
    refunds: [
      {
        outTradeNo: refunded.outTradeNo,
        channelTradeNo: refunded.channelTradeNo,
        outRequestNo: 'rfd_0123456789abcdef0123456789abcdef',
        channelRefundId: 're_cmZkXzAxMjM',
        amount: 1_000,
        currency: 'USD',
        orderAmount: refunded.amount,
        subject: refunded.subject,
        refundedAt,
        reference: null,
      },
    ],
  };
}

describe("the card processor's bill (Stripe balance transactions)", () => {
  it('lists the day newest first as Stripe does: charges with fees, refunds as negative amounts, a failed charge reversed', () => {
    const txns = cardBalanceTransactions(buildDay(), intentIdOf, new Date('2026-12-02T00:00:00Z'));
    expect(txns.map((t) => [t.type, t.reporting_category, t.amount, t.currency])).toEqual([
      ['refund', 'refund', -1_000, 'usd'],
      ['payment_failure_refund', 'charge_failure', -4_900, 'usd'],
      ['charge', 'charge', 4_900, 'usd'],
      ['charge', 'charge', 4_900, 'eur'],
      ['charge', 'charge', 4_900, 'usd'],
    ]);
    expect(txns[1]?.source).toMatchObject({ id: 'ch_3', status: 'failed', paid: false });
    const charge = txns.find((t) => t.type === 'charge' && t.currency === 'eur');
    expect(charge).toMatchObject({
      object: 'balance_transaction',
      id: expect.stringMatching(/^txn_/),
      created: later(1).getTime() / 1000,
      fee: 172,
      net: 4_728,
      status: 'pending',
      source: {
        id: 'ch_2',
        object: 'charge',
        status: 'succeeded',
        payment_intent: 'pi_bbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        metadata: { payment_id: 'pay_bbbbbbbbbbbbbbbbbbbbbbbbbbbb' },
      },
    });
    expect(txns[0]?.source).toMatchObject({
      object: 'refund',
      charge: 'ch_000000000000000000000001',
      metadata: { refund_id: 'rfd_0123456789abcdef0123456789abcdef', payment_id: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
    });
  });

  it('reads back one line per charge and per refund, in minor units, a failed charge as not effective', () => {
    const lines = parseCardBalanceTransactions(cardBalanceTransactions(buildDay(), intentIdOf));
    expect(lines).toEqual([
      {
        kind: 'payment',
        paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        refundNo: null,
        channelTradeNo: 'ch_000000000000000000000001',
        amount: 4_900,
        currency: 'USD',
        status: 'succeeded',
        succeeded: true,
        at: paidAt.toISOString(),
      },
      expect.objectContaining({ paymentId: 'pay_bbbbbbbbbbbbbbbbbbbbbbbbbbbb', currency: 'EUR', succeeded: true }),
      expect.objectContaining({
        paymentId: 'pay_cccccccccccccccccccccccccccc',
        channelTradeNo: 'ch_3',
        status: 'payment_failure_refund',
        succeeded: false,
      }),
      {
        kind: 'refund',
        paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        refundNo: 'rfd_0123456789abcdef0123456789abcdef',
        channelTradeNo: 'ch_000000000000000000000001',
        amount: 1_000,
        currency: 'USD',
        status: 'succeeded',
        succeeded: true,
        at: refundedAt.toISOString(),
      },
    ]);
  });

  it('reads a failure whose charge was booked on an earlier day as a payment that did not take effect', () => {
    const txns = cardBalanceTransactions(
      { ...buildDay(), trades: [buildTrade({ effective: false })], refunds: [] },
      intentIdOf,
    );
    const lines = parseCardBalanceTransactions(txns.filter((t) => t.type === 'payment_failure_refund'));
    expect(lines).toEqual([
      expect.objectContaining({ kind: 'payment', paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa', succeeded: false }),
    ]);
  });

  it('refuses transactions whose sources were not expanded', () => {
    const [txn] = cardBalanceTransactions(buildDay(), intentIdOf);
    expect(() => parseCardBalanceTransactions([{ ...txn, source: 're_1' }])).toThrow(/expand/);
  });
});
