import { createHash } from 'node:crypto';
import { CARD_PAYMENT_ID_KEY, CARD_REFUND_ID_KEY } from '../../../channels/card/bill.js';
import type { DayBill } from '../bills.js';

type Json = Record<string, unknown>;

/** Days between a charge and its money becoming available (Stripe's standard US payout schedule). */
const AVAILABLE_AFTER_S = 2 * 86_400;

/** Stripe's standard US card pricing, 2.9% + 30 cents, applied in any currency's minor units. */
const feeOf = (amount: number) => Math.round(amount * 0.029) + 30;

const unix = (at: Date) => Math.floor(at.getTime() / 1000);
const txnIdOf = (...parts: string[]) =>
  `txn_${createHash('sha256').update(parts.join(':')).digest('hex').slice(0, 24)}`;

/**
 * Stripe's list order: newest first; within a second, a charge's failure before the charge (it
 * came after), then by id, so pages are stable.
 */
export function newestFirst(a: Json, b: Json): number {
  const failed = (t: Json) => Number(t.type === 'payment_failure_refund');
  return Number(b.created) - Number(a.created) || failed(b) - failed(a) || String(b.id).localeCompare(String(a.id));
}

/**
 * A day's bill as Stripe's balance transactions, each with its source expanded
 * (`expand[]=data.source`), newest first: a `charge` per paid trade (the Charge carries the
 * PaymentIntent and our payment id in its metadata, copied from the intent) and a `refund` per
 * refund (the Refund carries both ids). A trade shown as not effective is a charge that failed
 * after it was booked, as Stripe shows a delayed payment's failure: the Charge with
 * `status: 'failed'` and a `payment_failure_refund` (reporting category `charge_failure`)
 * reversing its transaction. The account settles in each currency it charges, so a transaction's
 * amount and currency are the source's.
 */
export function cardBalanceTransactions(
  bill: DayBill,
  intentIdOf: (paymentId: string) => string,
  now = new Date(),
): Json[] {
  const transaction = (
    id: string,
    type: string,
    category: string,
    at: Date,
    amount: number,
    currency: string,
    fee: number,
    source: Json,
  ): Json => {
    const created = unix(at);
    return {
      id,
      object: 'balance_transaction',
      amount,
      available_on: created + AVAILABLE_AFTER_S,
      created,
      currency: currency.toLowerCase(),
      description: null,
      exchange_rate: null,
      fee,
      fee_details: fee === 0 ? [] : [{ amount: fee, currency: currency.toLowerCase(), type: 'stripe_fee' }],
      net: amount - fee,
      reporting_category: category,
      source,
      status: created + AVAILABLE_AFTER_S <= unix(now) ? 'available' : 'pending',
      type,
    };
  };

  const out: Json[] = [];
  for (const trade of bill.trades) {
    const charge: Json = {
      id: trade.channelTradeNo,
      object: 'charge',
      amount: trade.amount,
      amount_captured: trade.effective ? trade.amount : 0,
      currency: trade.currency.toLowerCase(),
      created: unix(trade.paidAt),
      description: trade.subject,
      payment_intent: intentIdOf(trade.outTradeNo),
      payment_method: trade.buyerId,
      metadata: { [CARD_PAYMENT_ID_KEY]: trade.outTradeNo },
      paid: trade.effective,
      status: trade.effective ? 'succeeded' : 'failed',
      ...(trade.effective ? {} : { failure_code: 'debit_not_authorized', failure_message: 'The payment failed.' }),
      livemode: false,
    };
    const fee = feeOf(trade.amount);
    out.push(
      transaction(
        txnIdOf(trade.channelTradeNo, 'charge'),
        'charge',
        'charge',
        trade.paidAt,
        trade.amount,
        trade.currency,
        fee,
        charge,
      ),
    );
    if (!trade.effective) {
      out.push(
        transaction(
          txnIdOf(trade.channelTradeNo, 'payment_failure_refund'),
          'payment_failure_refund',
          'charge_failure',
          trade.paidAt,
          -trade.amount,
          trade.currency,
          -fee,
          charge,
        ),
      );
    }
  }
  for (const refund of bill.refunds) {
    const source: Json = {
      id: refund.channelRefundId,
      object: 'refund',
      amount: refund.amount,
      charge: refund.channelTradeNo,
      currency: refund.currency.toLowerCase(),
      created: unix(refund.refundedAt),
      payment_intent: intentIdOf(refund.outTradeNo),
      metadata: { [CARD_REFUND_ID_KEY]: refund.outRequestNo, [CARD_PAYMENT_ID_KEY]: refund.outTradeNo },
      reason: 'requested_by_customer',
      status: 'succeeded',
    };
    out.push(
      transaction(
        txnIdOf(refund.channelRefundId, 'refund'),
        'refund',
        'refund',
        refund.refundedAt,
        -refund.amount,
        refund.currency,
        0,
        source,
      ),
    );
  }
  return out.sort(newestFirst);
}
