/**
 * Money is an integer count of a currency's minor units plus its ISO-4217 code, everywhere in
 * the product. This module is the one place that knows each supported currency's exponent (the
 * ISO 4217 minor unit: JPY and KRW have none, most currencies 2, KWD and BHD 3): validation,
 * display, conversion and every channel's wire format read it from here.
 * It is pure and deterministic, so workflows, the API and channel adapters all share it.
 */
export const CURRENCY_EXPONENTS = {
  CNY: 2,
  HKD: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  SGD: 2,
  AUD: 2,
  CAD: 2,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  BHD: 3,
} as const;

export type Currency = keyof typeof CURRENCY_EXPONENTS;
export const CURRENCIES = Object.keys(CURRENCY_EXPONENTS) as Currency[];

export function isCurrency(code: string): code is Currency {
  return Object.prototype.hasOwnProperty.call(CURRENCY_EXPONENTS, code);
}

/** Formats minor units as a decimal major-unit string: `formatMajor(9900, 'CNY') === '99.00'`. */
export function formatMajor(minor: number, currency: Currency): string {
  if (!Number.isSafeInteger(minor) || minor < 0) {
    throw new RangeError(`amount must be a non-negative safe integer of minor units, got ${minor}`);
  }
  const exponent = CURRENCY_EXPONENTS[currency];
  if (exponent === 0) return String(minor);
  const digits = String(minor).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * Parses a major-unit decimal string (as channels such as Alipay send) into minor units.
 * Returns `undefined` for anything that is not an exact amount in that currency: no signs,
 * no exponents, no more decimals than the currency has.
 */
export function parseMajor(text: string, currency: Currency): number | undefined {
  const exponent = CURRENCY_EXPONENTS[currency];
  // Up to 16 whole digits: every safe integer of yen or won; the safe-integer check below bounds the rest.
  const match = /^(\d{1,16})(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > exponent) return undefined;
  const minor = Number(whole + fraction.padEnd(exponent, '0'));
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** How many minor units make one major unit: `10 ** exponent`. */
export function minorPerMajor(currency: Currency): number {
  return 10 ** CURRENCY_EXPONENTS[currency];
}
