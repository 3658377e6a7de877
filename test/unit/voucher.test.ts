import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyring } from '../../src/crypto/keyring.js';
import { checkVoucher, signVoucher, voucherIdFor, voucherJwks } from '../../src/vouchers/voucher.js';
import { buildVoucherFacts } from '../support/builders.js';

const keyring = generateKeyring();
const facts = buildVoucherFacts();

describe('vouchers', () => {
  it('derives one voucher id per payment', () => {
    expect(voucherIdFor(facts.paymentId)).toBe('vch_abcdefghijklmnopqrstuvwxyz23');
    expect(signVoucher(facts, keyring.vouchers).voucherId).toBe(voucherIdFor(facts.paymentId));
  });

  it('signs the same facts into the same payload and digest', () => {
    const a = signVoucher(facts, keyring.vouchers);
    const b = signVoucher({ ...facts, items: [...facts.items] }, keyring.vouchers);
    expect(a.payload).toBe(b.payload);
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(a.digest).toBe(b.digest);
  });

  it('verifies offline with nothing but the published JWKS', () => {
    const voucher = signVoucher(facts, keyring.vouchers);
    const jwk = voucherJwks(keyring.vouchers).keys.find((k) => k.kid === voucher.keyId);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    const key = createPublicKey({ key: jwk as unknown as JsonWebKey, format: 'jwk' });
    expect(verify(null, Buffer.from(voucher.payload), key, Buffer.from(voucher.signature, 'base64'))).toBe(true);
  });

  it('fails when one byte of the payload changes', () => {
    const voucher = signVoucher(facts, keyring.vouchers);
    const tampered = voucher.payload.replace('19900', '19901');
    expect(checkVoucher(voucher, keyring.vouchers)).toEqual({ authentic: true });
    expect(checkVoucher({ ...voucher, payload: tampered }, keyring.vouchers)).toEqual({
      authentic: false,
      reason: 'digest_mismatch',
    });
  });

  it('fails with another key, and with an unknown key id', () => {
    const voucher = signVoucher(facts, keyring.vouchers);
    const other = generateKeyring().vouchers;
    const forged = signVoucher(facts, { ...other, activeKeyId: other.activeKeyId });
    expect(checkVoucher({ ...voucher, signature: forged.signature }, keyring.vouchers)).toEqual({
      authentic: false,
      reason: 'bad_signature',
    });
    expect(checkVoucher(voucher, other)).toEqual({ authentic: false, reason: 'unknown_key' });
  });

  it('keeps old vouchers verifiable after the signing key rotates', () => {
    const old = signVoucher(facts, keyring.vouchers);
    const next = generateKeyring().vouchers.keys[0]!;
    const rotated = { activeKeyId: next.keyId, keys: [...keyring.vouchers.keys, next] };
    const fresh = signVoucher(facts, rotated);
    expect(fresh.keyId).not.toBe(old.keyId);
    expect(checkVoucher(old, rotated)).toEqual({ authentic: true });
    expect(checkVoucher(fresh, rotated)).toEqual({ authentic: true });
  });
});
