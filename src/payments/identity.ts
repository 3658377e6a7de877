import { createHash, createHmac } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { PaymentRequest } from '../../domain/payment.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** The first 28 base32 characters of `digest` (140 bits): ids of payments and of what belongs to them. */
export function base32(digest: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 28) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/**
 * The payment id of a platform order: `pay_` and 28 base32 characters of HMAC-SHA256 of the order
 * id under the install's `paymentIdKey`. Deterministic, so a retried create lands on the same
 * workflow; keyed, so nobody can compute the id (and read the voucher) from a guessable order id;
 * 32 characters, so it fits every channel's `out_trade_no` (WeChat Pay allows at most 32).
 *
 * The key must never change for an install: a new key would give a retried create a new id.
 */
export function paymentIdForOrder(orderId: string, keyBase64: string): string {
  const key = Buffer.from(keyBase64, 'base64');
  if (key.length !== 32) throw new Error('paymentIdKey must be 32 bytes, base64');
  return `pay_${base32(createHmac('sha256', key).update(`order:${orderId}`).digest())}`;
}

/**
 * The id payments were given before ids were keyed (an unkeyed SHA-256 of the order id). Only
 * used to find such a payment again when its order is retried, so dedup holds across the upgrade.
 */
export function legacyPaymentIdForOrder(orderId: string): string {
  return `pay_${base32(createHash('sha256').update(`order:${orderId}`).digest())}`;
}

export const PAYMENT_ID_PATTERN = /^pay_[a-z2-7]{28}$/;

/** SHA-256 (hex) of the canonical request: equal for a retried create, different for a conflicting one. */
export function requestFingerprint(request: PaymentRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

export type { RiskSubject } from '../../domain/risk.js';

/**
 * The keyed hash the risk check knows a customer or a client address by (and blocklists name):
 * HMAC-SHA256 under a key derived from `paymentIdKey`, hex. Keyed, so a list of hashes reveals
 * no address (there are only 2^32 IPv4 addresses to try); `npm run risk-hash` prints one.
 */
export function riskSubjectHash(kind: 'customer' | 'address', value: string, keyBase64: string): string {
  const key = createHmac('sha256', Buffer.from(keyBase64, 'base64')).update('risk subjects').digest();
  return createHmac('sha256', key).update(`${kind}:${value}`).digest('hex');
}
