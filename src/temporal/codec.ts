import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  constants,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { Keyring } from '../crypto/keyring.js';

const ENCODING = 'binary/encrypted';
const METADATA_ENCODING = 'encoding';
const METADATA_KEY_ID = 'encryption-key-id';
const METADATA_WRAPPED_KEY = 'encryption-wrapped-key';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : '');

export class CodecKeyError extends Error {
  override readonly name = 'CodecKeyError';
}

/**
 * Encrypts every Temporal payload with AES-256-GCM under a fresh data key, and wraps that data
 * key with the active RSA-OAEP (SHA-256) master key (envelope encryption). The master key's id
 * travels in the payload metadata, so histories written under an older key still decode as long
 * as the keyring keeps it, and rotating the master key needs no re-encryption of history.
 *
 * Unwrapped data keys are cached by the SHA-256 of their wrapped form: decoding the same payload
 * again (replay, queries) costs no RSA operation.
 *
 * Workers and clients refuse unencrypted payloads (`refusePlaintext`): whoever can reach the
 * Temporal server (its port, the CLI, the Web UI's Update form without the codec) could otherwise
 * hand a workflow any value. A refused payload decodes to nothing (`binary/null`), which every
 * Update's validator rejects; a throw here would fail the workflow task again and again instead.
 * The codec server keeps them as they are, so the Web UI shows what was sent.
 */
export class EnvelopeCodec implements PayloadCodec {
  private readonly publicKey: KeyObject;
  private readonly activeKeyId: string;
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly dataKeys = new Map<string, Buffer>();

  private readonly refusePlaintext: boolean;

  constructor(keys: Keyring['temporalCodec'], options: { refusePlaintext?: boolean } = {}) {
    this.refusePlaintext = options.refusePlaintext ?? false;
    const active = keys.keys.find((k) => k.keyId === keys.activeKeyId);
    if (!active) throw new CodecKeyError(`the active codec key ${keys.activeKeyId} is not in the keyring`);
    this.activeKeyId = active.keyId;
    this.publicKey = createPublicKey(active.publicKey);
    for (const key of keys.keys) if (key.privateKey) this.privateKeys.set(key.keyId, createPrivateKey(key.privateKey));
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((payload) => {
        const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
        const dataKey = randomBytes(32);
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
        const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        const wrapped = publicEncrypt(
          { key: this.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          dataKey,
        );
        return {
          metadata: {
            [METADATA_ENCODING]: utf8(ENCODING),
            [METADATA_KEY_ID]: utf8(this.activeKeyId),
            [METADATA_WRAPPED_KEY]: new Uint8Array(wrapped),
          },
          data: new Uint8Array(sealed),
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((payload) => this.decodeOne(payload)));
  }

  private decodeOne(payload: Payload): Payload {
    if (text(payload.metadata?.[METADATA_ENCODING]) !== ENCODING) return this.refusePlaintext ? REFUSED : payload;
    const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
    const wrapped = payload.metadata?.[METADATA_WRAPPED_KEY];
    const sealed = payload.data;
    if (!wrapped || !sealed || sealed.length < IV_BYTES + TAG_BYTES)
      throw new CodecKeyError('malformed encrypted payload');
    const dataKey = this.unwrap(keyId, wrapped);
    const iv = sealed.subarray(0, IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', dataKey, iv);
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return proto.temporal.api.common.v1.Payload.decode(plain);
  }

  private unwrap(keyId: string, wrapped: Uint8Array): Buffer {
    const cacheKey = createHash('sha256').update(wrapped).digest('base64');
    const cached = this.dataKeys.get(cacheKey);
    if (cached) return cached;
    const privateKey = this.privateKeys.get(keyId);
    if (!privateKey)
      throw new CodecKeyError(`no private codec key ${keyId} in the keyring: cannot decrypt this payload`);
    const dataKey = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      wrapped,
    );
    if (this.dataKeys.size >= 10_000) this.dataKeys.clear();
    this.dataKeys.set(cacheKey, dataKey);
    return dataKey;
  }
}

/** What an unencrypted payload decodes to where plaintext is refused: no value at all. */
const REFUSED: Payload = { metadata: { [METADATA_ENCODING]: utf8('binary/null') } };

/** The data converter every client and worker of the project uses: it refuses plaintext. */
export function dataConverterFor(keyring: Pick<Keyring, 'temporalCodec'>) {
  return { payloadCodecs: [new EnvelopeCodec(keyring.temporalCodec, { refusePlaintext: true })] };
}
