import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.js';

const PREFIX = 'enc:v1';

/**
 * Encrypts personal data field by field before it reaches MongoDB (customer ids, what a learner
 * typed, raw channel notifications): AES-256-GCM with the keyring's active at-rest key, written
 * as `enc:v1:<keyId>:<base64 iv|ciphertext|tag>`. Older keys stay in the keyring to decrypt
 * older documents.
 */
export class FieldCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly activeKeyId: string;

  constructor(atRest: Keyring['atRest']) {
    for (const k of atRest.keys) this.keys.set(k.keyId, Buffer.from(k.key, 'base64'));
    if (!this.keys.has(atRest.activeKeyId)) throw new Error(`the active at-rest key ${atRest.activeKeyId} is missing`);
    this.activeKeyId = atRest.activeKeyId;
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId) as Buffer, iv);
    const sealed = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}:${this.activeKeyId}:${sealed.toString('base64')}`;
  }

  /** Whether `value` has the form this cipher writes (`enc:v1:...`). */
  static isEncrypted(value: string): boolean {
    return value.startsWith(`${PREFIX}:`);
  }

  /**
   * The plaintext of a field that may have been written before it was encrypted: what this cipher
   * wrote is decrypted (and throws like {@link decrypt}); anything else is returned as it is.
   */
  decryptOrPlain(stored: string): string {
    return FieldCipher.isEncrypted(stored) ? this.decrypt(stored) : stored;
  }

  decrypt(stored: string): string {
    const [enc, version, keyId, data] = stored.split(':');
    if (`${enc}:${version}` !== PREFIX || keyId === undefined || data === undefined) {
      throw new Error('not a value this cipher wrote');
    }
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`no at-rest key ${keyId} in the keyring`);
    const sealed = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
  }
}
