import type { BillLine } from '../../../domain/reconciliation.js';
import { isRecord, stringField } from '../fields.js';
import { ChannelRejectedError } from '../types.js';

/**
 * The card processor's bill is Stripe's balance transactions (`GET /v1/balance_transactions`,
 * `created[gte]`/`created[lt]` the Beijing day's bounds, `expand[]=data.source`): one `charge` per
 * payment that took money and one `refund` per refund, each with its source (the Charge or the
 * Refund) carrying our ids in its metadata. A charge that did not take effect shows as Stripe
 * shows a payment that failed after it was booked: the Charge's `status: 'failed'`, and a
 * `payment_failure_refund` transaction (reporting category `charge_failure`) reversing it.
 * Amounts are read from the source, in the currency the payer was charged (the transaction's
 * own are in the account's settlement currency).
 */

/** The metadata key the payment id travels under (our idempotency key, echoed in every event). */
export const CARD_PAYMENT_ID_KEY = 'payment_id';
/** The metadata key a refund's id travels under. */
export const CARD_REFUND_ID_KEY = 'refund_id';

/** Balance transaction types this product reads; the rest (payouts, fees, adjustments) move no payment's money. */
const CHARGE_TYPES: ReadonlySet<string> = new Set(['charge', 'payment']);
const REFUND_TYPES: ReadonlySet<string> = new Set(['refund', 'payment_refund']);
const FAILURE_TYPE = 'payment_failure_refund';

function malformed(what: string): ChannelRejectedError {
  return new ChannelRejectedError(`the card processor's balance transactions are malformed: ${what}`, 'malformed_bill');
}

interface Source {
  id: string;
  amount: number;
  currency: string;
  status: string;
  paymentId: string;
  refundId: string | undefined;
  /** The refunded charge, on a refund. */
  charge: string | undefined;
}

function sourceOf(txn: Readonly<Record<string, unknown>>): Source {
  const id = stringField(txn, 'id') ?? '?';
  const source = txn.source;
  if (!isRecord(source)) throw malformed(`${id} has no expanded source (ask with expand[]=data.source)`);
  const metadata = isRecord(source.metadata) ? source.metadata : {};
  const paymentId = stringField(metadata, CARD_PAYMENT_ID_KEY);
  const sourceId = stringField(source, 'id');
  const currency = stringField(source, 'currency');
  const amount = source.amount;
  if (paymentId === undefined || sourceId === undefined || currency === undefined) {
    throw malformed(`${id}'s source carries no metadata[${CARD_PAYMENT_ID_KEY}], id or currency`);
  }
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) throw malformed(`${id}'s amount`);
  const charge = source.charge;
  return {
    id: sourceId,
    amount,
    currency: currency.toUpperCase(),
    status: stringField(source, 'status') ?? '',
    paymentId,
    refundId: stringField(metadata, CARD_REFUND_ID_KEY),
    charge: typeof charge === 'string' ? charge : isRecord(charge) ? stringField(charge, 'id') : undefined,
  };
}

/**
 * The lines of a day's balance transactions (sources expanded), one per charge and per refund: a
 * charge is effective when its Charge succeeded and no `payment_failure_refund` of the list reverses
 * it; a failure whose charge was booked on an earlier day is a line of its own, not effective.
 * A refund's number is our refund id, from its metadata.
 */
export function parseCardBalanceTransactions(transactions: readonly unknown[]): BillLine[] {
  const charges = new Map<string, BillLine>();
  const lines: BillLine[] = [];
  const ordered = [...transactions].map((txn) => {
    if (!isRecord(txn) || txn.object !== 'balance_transaction') throw malformed('an entry is no balance_transaction');
    const created = txn.created;
    if (typeof created !== 'number' || !Number.isSafeInteger(created)) throw malformed(`${String(txn.id)}'s created`);
    return { txn, created, type: stringField(txn, 'type') ?? '' };
  });
  // Stripe lists the newest first; the bill reads in time order, failures after their charges.
  ordered.sort((a, b) => a.created - b.created || Number(a.type === FAILURE_TYPE) - Number(b.type === FAILURE_TYPE));
  for (const { txn, created, type } of ordered) {
    const at = new Date(created * 1000).toISOString();
    if (CHARGE_TYPES.has(type) || type === FAILURE_TYPE) {
      const source = sourceOf(txn);
      const known = charges.get(source.id);
      if (type === FAILURE_TYPE && known !== undefined) {
        known.succeeded = false;
        known.status = FAILURE_TYPE;
        continue;
      }
      const line: BillLine = {
        kind: 'payment',
        paymentId: source.paymentId,
        refundNo: null,
        channelTradeNo: source.id,
        amount: source.amount,
        currency: source.currency,
        status: type === FAILURE_TYPE ? FAILURE_TYPE : source.status,
        succeeded: type !== FAILURE_TYPE && source.status === 'succeeded',
        at,
      };
      charges.set(source.id, line);
      lines.push(line);
    } else if (REFUND_TYPES.has(type)) {
      const source = sourceOf(txn);
      if (source.refundId === undefined) throw malformed(`${source.id} carries no metadata[${CARD_REFUND_ID_KEY}]`);
      lines.push({
        kind: 'refund',
        paymentId: source.paymentId,
        refundNo: source.refundId,
        channelTradeNo: source.charge ?? null,
        amount: source.amount,
        currency: source.currency,
        status: source.status,
        succeeded: source.status === 'succeeded',
        at,
      });
    }
  }
  return lines;
}
