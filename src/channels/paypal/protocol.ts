import { crc32 } from 'node:zlib';
import { type Currency, formatMajor, isCurrency, parseMajor } from '../../../domain/money.js';
import { isRecord, stringField } from '../fields.js';

/**
 * PayPal's wire format, shared by the adapter and the sandbox that plays PayPal: REST Orders v2
 * and Payments v2 (JSON, amounts as decimal strings in the currency's exponent) and the webhook
 * transmission signature.
 */

/** The currencies the PayPal channel takes (PayPal settles CNY only for accounts inside China). */
/** The currencies PayPal takes for this merchant (PayPal takes no CNY, KRW, KWD or BHD from one abroad). */
export const PAYPAL_CURRENCIES: readonly Currency[] = ['USD', 'EUR', 'GBP', 'HKD', 'JPY', 'SGD', 'AUD', 'CAD'];

/** The webhook events the product acts on. */
export const PAYPAL_EVENTS = {
  approved: 'CHECKOUT.ORDER.APPROVED',
  captureCompleted: 'PAYMENT.CAPTURE.COMPLETED',
  captureDenied: 'PAYMENT.CAPTURE.DENIED',
  capturePending: 'PAYMENT.CAPTURE.PENDING',
  captureRefunded: 'PAYMENT.CAPTURE.REFUNDED',
} as const;

/** The signature algorithm PayPal names in `PAYPAL-AUTH-ALGO`. */
export const PAYPAL_AUTH_ALGO = 'SHA256withRSA';

/** A PayPal money object: `{ currency_code, value }`, the value in major units. */
export interface PaypalMoney {
  currency_code: string;
  value: string;
}

export function paypalMoney(minor: number, currency: Currency): PaypalMoney {
  return { currency_code: currency, value: formatMajor(minor, currency) };
}

/** A money object in minor units, or undefined when it is not one in a currency we know. */
export function minorUnitsOf(money: unknown): { amount: number; currency: Currency } | undefined {
  if (!isRecord(money)) return undefined;
  const currency = stringField(money, 'currency_code') ?? '';
  const value = stringField(money, 'value');
  if (!isCurrency(currency) || value === undefined) return undefined;
  const amount = parseMajor(value, currency);
  return amount === undefined ? undefined : { amount, currency };
}

/**
 * What PayPal signs for a webhook delivery: `transmissionId|transmissionTime|webhookId|crc32`,
 * the CRC-32 of the raw body as an unsigned decimal.
 */
export function paypalTransmissionString(
  transmissionId: string,
  transmissionTime: string,
  webhookId: string,
  body: Buffer | string,
): string {
  return `${transmissionId}|${transmissionTime}|${webhookId}|${crc32(body)}`;
}

/** A PayPal error answer's first issue (`details[0].issue`), else its `name`. */
export function paypalIssueOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const details = Array.isArray(body.details) ? (body.details as unknown[]) : [];
  const first = details.find(isRecord);
  return (first && stringField(first, 'issue')) ?? stringField(body, 'name') ?? stringField(body, 'error');
}
