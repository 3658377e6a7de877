import { createHash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { PaymentRequest } from '../../workflows/contracts.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * The payment id of a platform order: `pay_` and 28 base32 characters of SHA-256 of the order id.
 * Deterministic, so a retried create lands on the same workflow; 32 characters, so it fits every
 * channel's `out_trade_no` (WeChat Pay allows at most 32).
 */
export function paymentIdForOrder(orderId: string): string {
  const digest = createHash('sha256').update(`order:${orderId}`).digest();
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
  return `pay_${out}`;
}

export const PAYMENT_ID_PATTERN = /^pay_[a-z2-7]{28}$/;

/** SHA-256 (hex) of the canonical request: equal for a retried create, different for a conflicting one. */
export function requestFingerprint(request: PaymentRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}
