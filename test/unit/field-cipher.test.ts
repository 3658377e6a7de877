import { describe, expect, it } from 'vitest';
import { FieldCipher } from '../../src/crypto/field-cipher.js';
import { generateAtRestKeys } from '../../src/crypto/keyring.js';

describe('personal data encrypted at rest', () => {
  it('round-trips, and never writes the plaintext or the same ciphertext twice', () => {
    const cipher = new FieldCipher(generateAtRestKeys());
    const a = cipher.encrypt('learner-4711');
    const b = cipher.encrypt('learner-4711');
    expect(a).toMatch(/^enc:v1:ak_[0-9a-f]{16}:/);
    expect(a).not.toContain('learner-4711');
    expect(a).not.toBe(b);
    expect(cipher.decrypt(a)).toBe('learner-4711');
  });

  it('fails when one byte of the ciphertext changes', () => {
    const cipher = new FieldCipher(generateAtRestKeys());
    const stored = cipher.encrypt('learner-4711');
    const data = Buffer.from(stored.split(':')[3] ?? '', 'base64');
    data[14] = (data[14] ?? 0) ^ 1;
    const tampered = [...stored.split(':').slice(0, 3), data.toString('base64')].join(':');
    expect(() => cipher.decrypt(tampered)).toThrow();
  });

  it('still reads values written under a rotated-out key', () => {
    const old = generateAtRestKeys();
    const next = generateAtRestKeys();
    const written = new FieldCipher(old).encrypt('learner-4711');
    const rotated = new FieldCipher({ activeKeyId: next.activeKeyId, keys: [...next.keys, ...old.keys] });
    expect(rotated.decrypt(written)).toBe('learner-4711');
    expect(rotated.encrypt('x').split(':')[2]).toBe(next.activeKeyId);
  });
});
