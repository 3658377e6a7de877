import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { FieldCipher } from '../../src/crypto/field-cipher.js';
import { KeyRotationError, retireKey, rotateKeys, ROTATABLE_SECTIONS } from '../../src/crypto/key-rotation.js';
import { generateKeyring } from '../../src/crypto/keyring.js';
import { CodecKeyError, EnvelopeCodec } from '../../src/temporal/codec.js';
import { checkVoucher, signVoucher, voucherJwks } from '../../src/vouchers/voucher.js';
import { buildVoucherFacts } from '../support/builders.js';

const keyring = generateKeyring();
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());

const plain: Payload = { metadata: { encoding: utf8('json/plain') }, data: utf8('{"learner":"learner-4711"}') };
const facts = buildVoucherFacts();

describe('key rotation', () => {
  it('codec: histories written under the old key still decode, new payloads carry the new key id', async () => {
    const [written] = await new EnvelopeCodec(keyring.temporalCodec).encode([plain]);
    const rotated = rotateKeys(keyring, 'codec');
    expect(rotated.previousActiveKeyId).toBe(keyring.temporalCodec.activeKeyId);
    expect(rotated.keptKeyIds).toEqual([keyring.temporalCodec.activeKeyId]);
    expect(rotated.newKeyId).toMatch(/^ck_[0-9a-f]{16}$/);
    expect(rotated.keyring.temporalCodec.activeKeyId).toBe(rotated.newKeyId);

    const codec = new EnvelopeCodec(rotated.keyring.temporalCodec);
    const [decoded] = await codec.decode([written as Payload]);
    expect(text(decoded?.data)).toBe('{"learner":"learner-4711"}');
    expect(text(decoded?.metadata?.encoding)).toBe('json/plain');

    const [fresh] = await codec.encode([plain]);
    expect(text(fresh?.metadata?.['encryption-key-id'])).toBe(rotated.newKeyId);
    expect(text(written?.metadata?.['encryption-key-id'])).toBe(keyring.temporalCodec.activeKeyId);
    expect(text((await codec.decode([fresh as Payload]))[0]?.data)).toBe('{"learner":"learner-4711"}');
  });

  it('at-rest: values encrypted before still decrypt, new values use the new key id', () => {
    const written = new FieldCipher(keyring.atRest).encrypt('learner-4711');
    const rotated = rotateKeys(keyring, 'at-rest');
    expect(rotated.newKeyId).toMatch(/^ak_[0-9a-f]{16}$/);
    expect(rotated.newKeyId).not.toBe(keyring.atRest.activeKeyId);
    expect(rotated.keptKeyIds).toEqual([keyring.atRest.activeKeyId]);

    const cipher = new FieldCipher(rotated.keyring.atRest);
    expect(cipher.decrypt(written)).toBe('learner-4711');
    const fresh = cipher.encrypt('learner-4711');
    expect(fresh.split(':')[2]).toBe(rotated.newKeyId);
    expect(cipher.decrypt(fresh)).toBe('learner-4711');
  });

  it('vouchers: vouchers signed before still verify by keys and JWKS, new ones carry the new key id', () => {
    const before = signVoucher(facts, keyring.vouchers);
    const rotated = rotateKeys(keyring, 'vouchers');
    const keys = rotated.keyring.vouchers;
    expect(rotated.newKeyId).toMatch(/^vk_[0-9a-f]{16}$/);
    expect(keys.activeKeyId).toBe(rotated.newKeyId);

    expect(checkVoucher(before, keys)).toEqual({ authentic: true });
    const jwk = voucherJwks(keys).keys.find((k) => k.kid === before.keyId);
    expect(jwk).toBeDefined();
    const publicKey = createPublicKey({ key: jwk as unknown as JsonWebKey, format: 'jwk' });
    expect(verify(null, Buffer.from(before.payload), publicKey, Buffer.from(before.signature, 'base64'))).toBe(true);

    const after = signVoucher(facts, keys);
    expect(after.keyId).toBe(rotated.newKeyId);
    expect(checkVoucher(after, keys)).toEqual({ authentic: true });
    expect(voucherJwks(keys).keys.map((k) => k.kid)).toEqual([keyring.vouchers.activeKeyId, rotated.newKeyId]);

    // The old key keeps its public half only: it verifies, it no longer signs.
    const old = keys.keys.find((k) => k.keyId === keyring.vouchers.activeKeyId);
    expect(old?.publicKey).toBe(keyring.vouchers.keys[0]?.publicKey);
    expect(old?.privateKey).toBeUndefined();
    expect(rotated.privateKeysDropped).toEqual([keyring.vouchers.activeKeyId]);
    expect(() => signVoucher(facts, { ...keys, activeKeyId: keyring.vouchers.activeKeyId })).toThrow(/no private key/);
  });

  it('keeps every older key over several rotations, and leaves the input and other sections alone', () => {
    const snapshot = JSON.stringify(keyring);
    const once = rotateKeys(keyring, 'at-rest');
    const twice = rotateKeys(once.keyring, 'at-rest');
    expect(twice.keptKeyIds).toEqual([keyring.atRest.activeKeyId, once.newKeyId]);
    expect(twice.keyring.atRest.keys.map((k) => k.keyId)).toEqual([
      keyring.atRest.activeKeyId,
      once.newKeyId,
      twice.newKeyId,
    ]);
    expect(JSON.stringify(keyring)).toBe(snapshot);
    const { atRest: _atRest, ...rest } = twice.keyring;
    const { atRest: _original, ...originalRest } = keyring;
    expect(rest).toEqual(originalRest);
  });

  it('refuses to retire the active key, or a key the section does not hold', () => {
    for (const section of ROTATABLE_SECTIONS) {
      const active = rotateKeys(keyring, section).keyring;
      const property = ({ codec: 'temporalCodec', 'at-rest': 'atRest', vouchers: 'vouchers' } as const)[section];
      expect(() => retireKey(active, section, active[property].activeKeyId)).toThrow(KeyRotationError);
      expect(() => retireKey(active, section, active[property].activeKeyId)).toThrow(/active .* cannot be retired/);
      expect(() => retireKey(active, section, 'xx_0000000000000000')).toThrow(/has no key xx_0000000000000000/);
    }
  });

  it('codec: once the old key is retired, payloads written under it no longer decode', async () => {
    const [written] = await new EnvelopeCodec(keyring.temporalCodec).encode([plain]);
    const rotated = rotateKeys(keyring, 'codec');
    const retired = retireKey(rotated.keyring, 'codec', keyring.temporalCodec.activeKeyId);
    expect(retired.remainingKeyIds).toEqual([rotated.newKeyId]);
    expect(retired.warning).toMatch(/can no longer be read/);

    const codec = new EnvelopeCodec(retired.keyring.temporalCodec);
    // An async wrapper catches the failure whether decode throws or returns a rejected promise.
    await expect(async () => codec.decode([written as Payload])).rejects.toThrow(CodecKeyError);
    await expect(async () => codec.decode([written as Payload])).rejects.toThrow(
      `no private codec key ${keyring.temporalCodec.activeKeyId}`,
    );
    const [fresh] = await codec.encode([plain]);
    expect(text((await codec.decode([fresh as Payload]))[0]?.data)).toBe('{"learner":"learner-4711"}');
  });
});
