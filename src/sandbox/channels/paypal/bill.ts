import { formatMajor } from '../../../../domain/money.js';
import {
  formatPaypalTransactionTime,
  PAYPAL_EVENT_CODES,
  PAYPAL_TRANSACTION_STATUS,
  paypalAmountCurrency,
} from '../../../channels/paypal/bill.js';
import type { DayBill } from '../bills.js';

type Json = Record<string, unknown>;

export interface PaypalTransactionSearch {
  /** The range's bounds, both inclusive, and as the merchant wrote them (echoed back). */
  start: Date;
  end: Date;
  startText: string;
  endText: string;
  /** `all` adds the payer's and the cart's details to each transaction. */
  fields: 'transaction_info' | 'all';
  pageSize: number;
  /** 1-based. */
  page: number;
}

export interface PaypalSearchContext {
  /** The merchant's PayPal account number. */
  accountNumber: string;
  /** The order id PayPal gave the payment's order. */
  orderIdOf(paymentId: string): string;
  /** The URL of another page of the same search. */
  pageUrl(page: number): string;
  now: Date;
}

const money = (minor: number, currency: string, sign = '') => ({
  currency_code: currency,
  value: `${sign}${formatMajor(minor, paypalAmountCurrency(currency))}`,
});

/**
 * One page of PayPal's Transaction Search over the days' bills: a `T0006` per captured order (a
 * trade the bill shows as not effective is reversed, `V`) and a `T1107` per refund, its amount
 * negative, each within the range, oldest first.
 */
export function paypalTransactionSearchPage(
  bills: readonly DayBill[],
  search: PaypalTransactionSearch,
  context: PaypalSearchContext,
): Json {
  const trades = bills.flatMap((b) => b.trades);
  const payerOf = new Map(trades.map((t) => [t.outTradeNo, t.buyerId]));
  const rows: { at: Date; detail: Json }[] = [];
  const within = (at: Date) => at >= search.start && at <= search.end;
  const extras = (payer: string | undefined, subject: string): Json =>
    search.fields === 'all'
      ? {
          payer_info: payer ? { account_id: payer, address_status: 'N', payer_status: 'Y' } : {},
          cart_info: { item_details: [{ item_name: subject, item_quantity: '1' }] },
        }
      : {};

  for (const trade of trades) {
    if (!within(trade.paidAt)) continue;
    const at = formatPaypalTransactionTime(trade.paidAt);
    rows.push({
      at: trade.paidAt,
      detail: {
        transaction_info: {
          paypal_account_id: trade.buyerId,
          transaction_id: trade.channelTradeNo,
          paypal_reference_id: context.orderIdOf(trade.outTradeNo),
          paypal_reference_id_type: 'ODR',
          transaction_event_code: PAYPAL_EVENT_CODES.checkoutPayment,
          transaction_initiation_date: at,
          transaction_updated_date: at,
          transaction_amount: money(trade.amount, trade.currency),
          transaction_status: trade.effective ? PAYPAL_TRANSACTION_STATUS.success : PAYPAL_TRANSACTION_STATUS.reversed,
          invoice_id: trade.outTradeNo,
          custom_field: trade.outTradeNo,
          protection_eligibility: '02',
        },
        ...extras(trade.buyerId, trade.subject),
      },
    });
  }
  for (const refund of bills.flatMap((b) => b.refunds)) {
    if (!within(refund.refundedAt)) continue;
    const at = formatPaypalTransactionTime(refund.refundedAt);
    const payer = payerOf.get(refund.outTradeNo);
    rows.push({
      at: refund.refundedAt,
      detail: {
        transaction_info: {
          ...(payer ? { paypal_account_id: payer } : {}),
          transaction_id: refund.channelRefundId,
          paypal_reference_id: refund.channelTradeNo,
          paypal_reference_id_type: 'TXN',
          transaction_event_code: PAYPAL_EVENT_CODES.refund,
          transaction_initiation_date: at,
          transaction_updated_date: at,
          transaction_amount: money(refund.amount, refund.currency, '-'),
          transaction_status: PAYPAL_TRANSACTION_STATUS.success,
          invoice_id: refund.outRequestNo,
          custom_field: refund.outTradeNo,
        },
        ...extras(payer, refund.subject),
      },
    });
  }
  rows.sort((a, b) => a.at.getTime() - b.at.getTime());

  const totalPages = Math.ceil(rows.length / search.pageSize);
  const first = (search.page - 1) * search.pageSize;
  const link = (page: number, rel: string) => ({ href: context.pageUrl(page), rel, method: 'GET' });
  return {
    transaction_details: rows.slice(first, first + search.pageSize).map((r) => r.detail),
    account_number: context.accountNumber,
    start_date: search.startText,
    end_date: search.endText,
    last_refreshed_datetime: formatPaypalTransactionTime(context.now),
    page: search.page,
    total_items: rows.length,
    total_pages: totalPages,
    links: [
      link(search.page, 'self'),
      ...(search.page < totalPages ? [link(search.page + 1, 'next'), link(totalPages, 'last')] : []),
    ],
  };
}
