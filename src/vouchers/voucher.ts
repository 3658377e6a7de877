import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Discount, FxQuote, PaymentItem } from '../../domain/payment.js';

export const VOUCHER_ALGORITHM = 'Ed25519';

/** The payment facts a voucher proves. Everything a learner or platform needs to check a purchase. */
export interface VoucherFacts {
  paymentId: string;
  orderId: string;
  amount: number;
  currency: string;
  channel: string;
  channelTradeNo: string;
  /** Each line with its kind and its own discounts. */
  items: PaymentItem[];
  /** The order's discounts after the lines'; absent when there are none. */
  discounts?: Discount[];
  /** The locked exchange quote of a cross-border payment; absent when presentment and settlement agree. */
  fx?: FxQuote;
  paidAt: string;
  issuedAt: string;
}

export interface SignedVoucher {
  voucherId: string;
  paymentId: string;
  /** Canonical JSON of the facts plus `voucherId` and `version`. */
  payload: string;
  /** Hex SHA-256 of `payload`. */
  digest: string;
  /** Base64 signature over the UTF-8 bytes of `payload`. */
  signature: string;
  keyId: string;
  algorithm: typeof VOUCHER_ALGORITHM;
}

/** A stored voucher (any record with its fields) in its published shape. */
export function toSignedVoucher(stored: Omit<SignedVoucher, 'algorithm'> & { algorithm: string }): SignedVoucher {
  return {
    voucherId: stored.voucherId,
    paymentId: stored.paymentId,
    payload: stored.payload,
    digest: stored.digest,
    signature: stored.signature,
    keyId: stored.keyId,
    algorithm: VOUCHER_ALGORITHM,
  };
}

/** One voucher per payment: its id derives from the payment id, whatever retries happen. */
export function voucherIdFor(paymentId: string): string {
  return `vch_${paymentId.replace(/^pay_/, '')}`;
}

export function signVoucher(facts: VoucherFacts, keys: Keyring['vouchers']): SignedVoucher {
  const key = keys.keys.find((k) => k.keyId === keys.activeKeyId);
  if (!key?.privateKey) throw new Error(`voucher signing key ${keys.activeKeyId} has no private key in the keyring`);
  const voucherId = voucherIdFor(facts.paymentId);
  const payload = canonicalJson({ version: 1, voucherId, ...facts });
  const bytes = Buffer.from(payload, 'utf8');
  return {
    voucherId,
    paymentId: facts.paymentId,
    payload,
    digest: createHash('sha256').update(bytes).digest('hex'),
    signature: sign(null, bytes, createPrivateKey(key.privateKey)).toString('base64'),
    keyId: key.keyId,
    algorithm: VOUCHER_ALGORITHM,
  };
}

export type VoucherCheck =
  | { authentic: true }
  | { authentic: false; reason: 'unknown_key' | 'digest_mismatch' | 'bad_signature' };

/** Checks a voucher offline against the published keys; any key ever used still verifies. */
export function checkVoucher(
  voucher: Pick<SignedVoucher, 'payload' | 'digest' | 'signature' | 'keyId'>,
  keys: Keyring['vouchers'],
): VoucherCheck {
  const key = keys.keys.find((k) => k.keyId === voucher.keyId);
  if (!key) return { authentic: false, reason: 'unknown_key' };
  const bytes = Buffer.from(voucher.payload, 'utf8');
  if (createHash('sha256').update(bytes).digest('hex') !== voucher.digest)
    return { authentic: false, reason: 'digest_mismatch' };
  const ok = verify(null, bytes, createPublicKey(key.publicKey), Buffer.from(voucher.signature, 'base64'));
  return ok ? { authentic: true } : { authentic: false, reason: 'bad_signature' };
}

/** The public voucher keys as a JWKS (RFC 8037 OKP keys), `kid` = voucher `keyId`. */
export function voucherJwks(keys: Keyring['vouchers']): { keys: Record<string, string>[] } {
  return {
    keys: keys.keys.map((k) => {
      const jwk = createPublicKey(k.publicKey).export({ format: 'jwk' });
      return { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x), kid: k.keyId, use: 'sig', alg: 'EdDSA' };
    }),
  };
}
