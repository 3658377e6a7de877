import { type Currency, isCurrency, parseMajor } from '../../../domain/money.js';
import type { BillLine } from '../../../domain/reconciliation.js';
import { isRecord, stringField } from '../fields.js';
import { ChannelRejectedError } from '../types.js';

/**
 * PayPal's daily bill is its Transaction Search API (`GET /v1/reporting/transactions`): the
 * account's transactions between `start_date` and `end_date` (both inclusive, RFC 3339 with an
 * offset, at most 31 days apart), `page_size` up to 500 a page. Each `transaction_info` names an
 * event code, a one-letter status and the money as a decimal string, negative for money going back
 * to the payer, and echoes the `invoice_id` and `custom_id` (as `custom_field`) the merchant set.
 */

/** The event codes this product books: an Orders v2 capture, and a merchant's refund of one. */
export const PAYPAL_EVENT_CODES = { checkoutPayment: 'T0006', refund: 'T1107' } as const;

/** `transaction_status`: success, pending, denied, reversed (PayPal also uses `F`, partially refunded). */
export const PAYPAL_TRANSACTION_STATUS = { success: 'S', pending: 'P', denied: 'D', reversed: 'V' } as const;

/** The largest `page_size` Transaction Search takes. */
export const PAYPAL_SEARCH_MAX_PAGE_SIZE = 500;

/** The longest range one search covers. */
export const PAYPAL_SEARCH_MAX_RANGE_MS = 31 * 86_400_000;

/** The issue PayPal answers for a range it has no data for yet (its data lags up to three hours). */
export const PAYPAL_DATA_NOT_AVAILABLE = 'DATA_NOT_AVAILABLE';

/** `at` as PayPal writes a transaction's dates: `2026-12-01T02:03:04+0000`. */
export function formatPaypalTransactionTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}+0000`;
}

/** `at` in RFC 3339 at `offsetMinutes` ahead of UTC, with milliseconds: a search's `start_date` / `end_date`. */
export function paypalSearchTime(at: Date, offsetMinutes: number): string {
  const local = new Date(at.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * An RFC 3339 time with an offset (`Z`, `+08:00`, or PayPal's own `+0800`), with seconds and
 * optional fractions; undefined for anything else.
 */
export function parsePaypalTime(text: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)(Z|[+-]\d{2}:?\d{2})$/.exec(text);
  if (!m) return undefined;
  const offset = m[2] === 'Z' ? 'Z' : `${(m[2] ?? '').slice(0, 3)}:${(m[2] ?? '').slice(-2)}`;
  const at = new Date(`${m[1]}${offset}`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** The exponent to read a currency's amounts with: its own, or two for one this system does not take. */
export const paypalAmountCurrency = (code: string): Currency => (isCurrency(code) ? code : 'USD');

function malformed(what: string): ChannelRejectedError {
  return new ChannelRejectedError(`PayPal's transaction search answer is malformed: ${what}`, 'malformed_bill');
}

/**
 * One page of a Transaction Search answer as bill lines, and how many pages there are. Only the
 * event codes this product books are read (fees, transfers and holds on the account are not
 * payments or refunds of ours). A capture names our payment in `custom_field` (else `invoice_id`);
 * a refund names it in `custom_field` and our refund id in `invoice_id`. Refunds' amounts are
 * absolute; a line has succeeded when its status is `S`.
 */
export function readPaypalTransactionPage(body: unknown): {
  lines: BillLine[];
  /** The transactions on this page, booked here or not. */
  count: number;
  totalItems: number;
  totalPages: number;
} {
  if (!isRecord(body) || !Array.isArray(body.transaction_details)) throw malformed('no transaction_details');
  const count = (n: unknown) => (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined);
  const totalPages = count(body.total_pages);
  const totalItems = count(body.total_items);
  if (totalPages === undefined || totalItems === undefined) throw malformed('no total_pages or total_items');
  const lines: BillLine[] = [];
  for (const detail of body.transaction_details as unknown[]) {
    const info = isRecord(detail) && isRecord(detail.transaction_info) ? detail.transaction_info : undefined;
    if (info === undefined) throw malformed('a transaction without transaction_info');
    const code = stringField(info, 'transaction_event_code');
    if (code !== PAYPAL_EVENT_CODES.checkoutPayment && code !== PAYPAL_EVENT_CODES.refund) continue;
    const id = stringField(info, 'transaction_id');
    const money = isRecord(info.transaction_amount) ? info.transaction_amount : undefined;
    const currency = stringField(money, 'currency_code');
    const value = /^-?(.+)$/.exec(stringField(money, 'value') ?? '')?.[1];
    const amount = currency && value !== undefined ? parseMajor(value, paypalAmountCurrency(currency)) : undefined;
    const status = stringField(info, 'transaction_status');
    const at = parsePaypalTime(stringField(info, 'transaction_initiation_date') ?? '');
    if (id === undefined || currency === undefined || amount === undefined || status === undefined || !at) {
      throw malformed(`transaction ${id ?? '(no id)'}`);
    }
    const refund = code === PAYPAL_EVENT_CODES.refund;
    const invoiceId = stringField(info, 'invoice_id');
    lines.push({
      kind: refund ? 'refund' : 'payment',
      paymentId: stringField(info, 'custom_field') ?? (refund ? undefined : invoiceId) ?? id,
      refundNo: refund ? (invoiceId ?? null) : null,
      channelTradeNo: (refund ? stringField(info, 'paypal_reference_id') : id) ?? null,
      amount,
      currency,
      status,
      succeeded: status === PAYPAL_TRANSACTION_STATUS.success,
      at: at.toISOString(),
    });
  }
  return { lines, count: body.transaction_details.length, totalItems, totalPages };
}
