/**
 * Cross-border money: a payment is priced and paid in its presentment currency (what the learner
 * sees) and settled to the merchant in the settlement currency. When they differ, the API locks a
 * quote at create time and every later figure (the settlement amount, each refund's settlement
 * share) is converted at that one rate.
 *
 * Rounding is half to even (banker's rounding) at the settlement currency's minor unit: exact
 * halves go to the even neighbour, so rounding errors do not drift one way over many payments.
 * Rates are decimal strings, never floats; the arithmetic is exact in BigInt.
 */
import { CURRENCY_EXPONENTS, type Currency } from './money.js';

/** A locked exchange quote, as the payment view, the voucher and the receipt record it. */
export interface FxQuote {
  /** Settlement major units per presentment major unit, a decimal string ("7.1834"). */
  rate: string;
  presentmentAmount: number;
  presentmentCurrency: Currency;
  settlementAmount: number;
  settlementCurrency: Currency;
  /** ISO-8601 instant the rate source gave the rate. */
  quotedAt: string;
  /** Which rate source gave it (`sandbox`, or a real provider's name). */
  source: string;
}

/** A rate: 1 to 12 significant digits before the point, at most 10 after, greater than zero. */
export const RATE_PATTERN = /^(?:0|[1-9]\d{0,11})(?:\.\d{1,10})?$/;

/** The rate as an integer and a power of ten: "7.18" → { units: 718n, scale: 2 }; undefined when malformed or zero. */
export function parseRate(rate: string): { units: bigint; scale: number } | undefined {
  if (!RATE_PATTERN.test(rate)) return undefined;
  const [whole = '', fraction = ''] = rate.split('.');
  const units = BigInt(whole + fraction);
  return units > 0n ? { units, scale: fraction.length } : undefined;
}

/** `numerator / denominator` rounded half to even; both non-negative, denominator positive. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twice = (numerator % denominator) * 2n;
  if (twice > denominator || (twice === denominator && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}

/**
 * `amount` minor units of `from` in minor units of `to` at `rate` (units of `to` per unit of
 * `from`), rounded half to even. Throws on a malformed rate or an unsafe result.
 */
export function convertMinor(amount: number, from: Currency, to: Currency, rate: string): number {
  const parsed = parseRate(rate);
  if (!parsed) throw new RangeError(`malformed exchange rate ${rate}`);
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`amount must be non-negative minor units`);
  const shift = CURRENCY_EXPONENTS[to] - CURRENCY_EXPONENTS[from];
  let numerator = BigInt(amount) * parsed.units;
  let denominator = 10n ** BigInt(parsed.scale);
  if (shift >= 0) numerator *= 10n ** BigInt(shift);
  else denominator *= 10n ** BigInt(-shift);
  const result = Number(divideHalfEven(numerator, denominator));
  if (!Number.isSafeInteger(result)) throw new RangeError('the converted amount is too large');
  return result;
}

/**
 * The settlement share of a refund at the payment's quote: the settlement value of everything
 * refunded once this refund is made, less that of what was refunded before. So the shares of any
 * sequence of refunds add up to the converted total of their amounts, and refunding the whole
 * payment returns exactly its settlement amount, whatever the rounding did to each one.
 */
export function refundSettlementAmount(quote: FxQuote, refundedBefore: number, amount: number): number {
  const convert = (presentment: number) =>
    presentment >= quote.presentmentAmount
      ? quote.settlementAmount
      : convertMinor(presentment, quote.presentmentCurrency, quote.settlementCurrency, quote.rate);
  return convert(refundedBefore + amount) - convert(refundedBefore);
}
