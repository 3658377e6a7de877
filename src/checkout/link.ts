import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The hosted checkout's link: `/checkout/<paymentId>?e=<expiry>&t=<token>`, where `e` is the end of
 * the payment window in Unix seconds and `t` the base64url HMAC-SHA256 of `checkout|<paymentId>|<e>`
 * under {@link checkoutLinkKey}. Unguessable without the key, bound to one payment and one expiry:
 * changing either breaks the token. The page takes payment until `e`, shows only the result for
 * {@link CHECKOUT_RESULT_DAYS} days after it, and then answers that the link is gone.
 */

/** Days after `e` during which the link still shows the payment's result. */
export const CHECKOUT_RESULT_DAYS = 7;

/** Seconds after `e` during which the link still shows the payment's result. */
export const CHECKOUT_RESULT_SECONDS = CHECKOUT_RESULT_DAYS * 24 * 60 * 60;

/**
 * The key checkout links are signed with: HMAC-SHA256 of `checkout-link` under the keyring's
 * `paymentIdKey` (base64, 32 bytes). Derived, so the payment id key itself never signs a link.
 */
export function checkoutLinkKey(paymentIdKey: string): Buffer {
  const key = Buffer.from(paymentIdKey, 'base64');
  if (key.length !== 32) throw new Error('paymentIdKey must be 32 bytes, base64');
  return createHmac('sha256', key).update('checkout-link').digest();
}

function checkoutToken(key: Buffer, paymentId: string, e: number): string {
  return createHmac('sha256', key).update(`checkout|${paymentId}|${e}`).digest('base64url');
}

export interface CheckoutLinkInput {
  /** The API's public origin (`PUBLIC_BASE_URL`), without a trailing slash. */
  baseUrl: string;
  /** From {@link checkoutLinkKey}. */
  key: Buffer;
  paymentId: string;
  /** The end of the payment window; rounded down to whole seconds. */
  expiresAt: Date;
}

/** The signed link to a payment's hosted checkout page. */
export function checkoutLink({ baseUrl, key, paymentId, expiresAt }: CheckoutLinkInput): string {
  const e = Math.floor(expiresAt.getTime() / 1000);
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/checkout/${encodeURIComponent(paymentId)}?e=${e}&t=${checkoutToken(key, paymentId, e)}`;
}

/** `e` and `t` as they arrive in a query string: anything, or nothing. */
export type CheckoutLinkParam = unknown;

function tokenMatches(key: Buffer, paymentId: string, e: CheckoutLinkParam, t: CheckoutLinkParam): e is string {
  if (typeof e !== 'string' || typeof t !== 'string' || !/^\d{1,12}$/.test(e) || !/^[A-Za-z0-9_-]{43}$/.test(t)) {
    return false;
  }
  const expected = Buffer.from(checkoutToken(key, paymentId, Number(e)), 'base64url');
  const given = Buffer.from(t, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * What a link allows at `now`: `invalid` when `t` is not the token of `paymentId` and `e` (compared
 * in constant time), else `payable` until `e`, `result` (the outcome only, no paying) for
 * {@link CHECKOUT_RESULT_DAYS} days after it, then `gone`.
 */
export type CheckoutLinkState = 'invalid' | 'payable' | 'result' | 'gone';

export function checkoutLinkState(
  key: Buffer,
  paymentId: string,
  e: CheckoutLinkParam,
  t: CheckoutLinkParam,
  now: Date,
): CheckoutLinkState {
  if (!tokenMatches(key, paymentId, e, t)) return 'invalid';
  const seconds = now.getTime() / 1000;
  const end = Number(e);
  if (seconds < end) return 'payable';
  return seconds < end + CHECKOUT_RESULT_SECONDS ? 'result' : 'gone';
}

/**
 * Whether the link opens the page at `now`: its token is right (constant-time compare) and it is
 * not yet gone (payable, or showing the result).
 */
export function checkoutTokenValid(
  key: Buffer,
  paymentId: string,
  e: CheckoutLinkParam,
  t: CheckoutLinkParam,
  now: Date,
): boolean {
  const state = checkoutLinkState(key, paymentId, e, t, now);
  return state === 'payable' || state === 'result';
}
