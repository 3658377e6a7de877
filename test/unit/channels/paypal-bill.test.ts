import { describe, expect, it } from 'vitest';
import { BILL_UTC_OFFSET_MINUTES, dayBounds } from '../../../domain/reconciliation.js';
import { parsePaypalTime, paypalSearchTime, readPaypalTransactionPage } from '../../../src/channels/paypal/bill.js';
import type { BilledRefund, BilledTrade, DayBill } from '../../../src/sandbox/channels/bills.js';
import {
  paypalTransactionSearchPage,
  type PaypalTransactionSearch,
} from '../../../src/sandbox/channels/paypal/bill.js';

const { start, end } = dayBounds('2026-12-01', BILL_UTC_OFFSET_MINUTES);
const lastInstant = new Date(end.getTime() - 1);

function buildTrade(overrides: Partial<BilledTrade> = {}): BilledTrade {
  return {
    outTradeNo: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    channelTradeNo: '1A2B3C4D5E6F70809',
    subject: 'Rust for the web',
    amount: 4_900,
    currency: 'USD',
    createdAt: new Date('2026-12-01T01:00:00Z'),
    paidAt: new Date('2026-12-01T01:02:03Z'),
    buyerId: 'PAYERAAAAAAAA',
    reference: null,
    effective: true,
    ...overrides,
  };
}

function buildRefund(overrides: Partial<BilledRefund> = {}): BilledRefund {
  return {
    outTradeNo: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    channelTradeNo: '1A2B3C4D5E6F70809',
    outRequestNo: 'rfd_0123456789abcdef0123456789abcdef',
    channelRefundId: '7264665F30313233',
    amount: 1_250,
    currency: 'USD',
    orderAmount: 4_900,
    subject: 'Rust for the web',
    refundedAt: new Date('2026-12-01T09:00:00Z'),
    reference: null,
    ...overrides,
  };
}

/** A Beijing day with a dollar capture and its partial refund, a yen capture, and a reversed one. */
function buildDay(overrides: Partial<DayBill> = {}): DayBill {
  return {
    channel: 'paypal',
    date: '2026-12-01',
    trades: [
      buildTrade(),
      buildTrade({
        outTradeNo: 'pay_bbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        channelTradeNo: '2B',
        amount: 1_200,
        currency: 'JPY',
        paidAt: new Date('2026-12-01T03:00:00Z'),
      }),
      buildTrade({
        outTradeNo: 'pay_cccccccccccccccccccccccccccc',
        channelTradeNo: '3C',
        paidAt: new Date('2026-12-01T05:00:00Z'),
        effective: false,
      }),
    ],
    refunds: [buildRefund()],
    ...overrides,
  };
}

function buildSearch(overrides: Partial<PaypalTransactionSearch> = {}): PaypalTransactionSearch {
  return {
    start,
    end: lastInstant,
    startText: paypalSearchTime(start, BILL_UTC_OFFSET_MINUTES),
    endText: paypalSearchTime(lastInstant, BILL_UTC_OFFSET_MINUTES),
    fields: 'transaction_info',
    pageSize: 500,
    page: 1,
    ...overrides,
  };
}

const context = {
  accountNumber: 'MERCHANT00001',
  orderIdOf: (paymentId: string) => paymentId.slice(4).toUpperCase(),
  pageUrl: (page: number) => `https://paypal.test/v1/reporting/transactions?page=${page}`,
  now: new Date('2026-12-01T12:00:00Z'),
};

describe("PayPal's Transaction Search as the daily bill", () => {
  it('asks for the Beijing day from its first to its last millisecond', () => {
    expect(paypalSearchTime(start, BILL_UTC_OFFSET_MINUTES)).toBe('2026-12-01T00:00:00.000+08:00');
    expect(paypalSearchTime(lastInstant, BILL_UTC_OFFSET_MINUTES)).toBe('2026-12-01T23:59:59.999+08:00');
    expect(parsePaypalTime('2026-12-01T00:00:00.000+08:00')).toEqual(start);
    expect(parsePaypalTime('2026-11-30T16:00:00+0000')).toEqual(start);
    expect(parsePaypalTime('2026-11-30T16:00:00Z')).toEqual(start);
    expect(parsePaypalTime('2026-11-30 16:00:00')).toBeUndefined();
    expect(parsePaypalTime('2026-11-30T16:00+08:00')).toBeUndefined();
  });

  it('reads back every capture and refund the sandbox writes, a reversed capture as not succeeded', () => {
    const page = paypalTransactionSearchPage([buildDay()], buildSearch(), context);
    expect(page).toMatchObject({ account_number: 'MERCHANT00001', page: 1, total_items: 4, total_pages: 1 });
    const infos = (page.transaction_details as { transaction_info: Record<string, unknown> }[]).map(
      (d) => d.transaction_info,
    );
    expect(infos.map((i) => [i.transaction_event_code, i.transaction_status, i.transaction_amount])).toEqual([
      ['T0006', 'S', { currency_code: 'USD', value: '49.00' }],
      ['T0006', 'S', { currency_code: 'JPY', value: '1200' }],
      ['T0006', 'V', { currency_code: 'USD', value: '49.00' }],
      ['T1107', 'S', { currency_code: 'USD', value: '-12.50' }],
    ]);
    expect(infos[3]).toMatchObject({
      invoice_id: 'rfd_0123456789abcdef0123456789abcdef',
      custom_field: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      paypal_reference_id: '1A2B3C4D5E6F70809',
      paypal_reference_id_type: 'TXN',
      transaction_initiation_date: '2026-12-01T09:00:00+0000',
    });

    const { lines, ...counts } = readPaypalTransactionPage(JSON.parse(JSON.stringify(page)));
    expect(counts).toEqual({ count: 4, totalItems: 4, totalPages: 1 });
    expect(lines).toEqual([
      {
        kind: 'payment',
        paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        refundNo: null,
        channelTradeNo: '1A2B3C4D5E6F70809',
        amount: 4_900,
        currency: 'USD',
        status: 'S',
        succeeded: true,
        at: '2026-12-01T01:02:03.000Z',
      },
      expect.objectContaining({ kind: 'payment', amount: 1_200, currency: 'JPY', succeeded: true }),
      expect.objectContaining({
        kind: 'payment',
        paymentId: 'pay_cccccccccccccccccccccccccccc',
        status: 'V',
        succeeded: false,
      }),
      {
        kind: 'refund',
        paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        refundNo: 'rfd_0123456789abcdef0123456789abcdef',
        channelTradeNo: '1A2B3C4D5E6F70809',
        amount: 1_250,
        currency: 'USD',
        status: 'S',
        succeeded: true,
        at: '2026-12-01T09:00:00.000Z',
      },
    ]);
  });

  it('shows a changed amount and a currency this system does not take as such', () => {
    const day = buildDay({ trades: [buildTrade({ amount: 5_000, currency: 'GBP' })], refunds: [] });
    const { lines } = readPaypalTransactionPage(paypalTransactionSearchPage([day], buildSearch(), context));
    expect(lines).toEqual([expect.objectContaining({ amount: 5_000, currency: 'GBP', succeeded: true })]);
  });

  it('pages through the range, oldest first, and leaves out what falls outside it', () => {
    const search = buildSearch({ start: new Date('2026-12-01T02:00:00Z'), pageSize: 2 });
    const first = paypalTransactionSearchPage([buildDay()], search, context);
    expect(first).toMatchObject({ total_items: 3, total_pages: 2 });
    expect((first.links as { rel: string }[]).map((l) => l.rel)).toEqual(['self', 'next', 'last']);
    const second = paypalTransactionSearchPage([buildDay()], { ...search, page: 2 }, context);
    const read = [first, second].flatMap((page) => readPaypalTransactionPage(page).lines);
    expect(read.map((l) => [l.kind, l.channelTradeNo])).toEqual([
      ['payment', '2B'],
      ['payment', '3C'],
      ['refund', '1A2B3C4D5E6F70809'],
    ]);
  });

  it('adds the payer and the cart with fields=all, and the reader skips event codes it does not book', () => {
    const page = paypalTransactionSearchPage([buildDay()], buildSearch({ fields: 'all' }), context);
    const details = page.transaction_details as Record<string, any>[];
    expect(details[0]).toMatchObject({
      payer_info: { account_id: 'PAYERAAAAAAAA' },
      cart_info: { item_details: [{ item_name: 'Rust for the web' }] },
    });
    details.push({
      transaction_info: {
        transaction_id: 'FEE1',
        transaction_event_code: 'T0400',
        transaction_initiation_date: '2026-12-01T10:00:00+0000',
        transaction_amount: { currency_code: 'USD', value: '-100.00' },
        transaction_status: 'S',
      },
    });
    expect(readPaypalTransactionPage(page).lines).toHaveLength(4);
  });

  it('refuses an answer it cannot read as a malformed bill', () => {
    expect(() => readPaypalTransactionPage({ total_pages: 1 })).toThrow(/malformed/);
    const broken = {
      total_pages: 1,
      total_items: 1,
      transaction_details: [
        {
          transaction_info: {
            transaction_id: 'X',
            transaction_event_code: 'T0006',
            transaction_initiation_date: '2026-12-01T10:00:00+0000',
            transaction_amount: { currency_code: 'USD', value: '49.001' },
            transaction_status: 'S',
          },
        },
      ],
    };
    expect(() => readPaypalTransactionPage(broken)).toThrow(expect.objectContaining({ code: 'malformed_bill' }));
  });
});
