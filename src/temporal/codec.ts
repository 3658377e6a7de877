import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  constants,
  publicEncrypt,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
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
  override readonly name: string = 'CodecKeyError';
}

/**
 * A payload that cannot be decrypted: damaged, not one of ours, or wrapped under a master key the
 * keyring no longer holds. `index` is its place in the list given to `decode`.
 */
export class UndecodablePayloadError extends CodecKeyError {
  override readonly name = 'UndecodablePayloadError';
  constructor(
    readonly index: number,
    readonly reason: string,
  ) {
    super(`payload ${index} cannot be decrypted: ${reason}`);
  }
}

/**
 * Runs at most `limit` tasks at once and queues the rest in order. The RSA unwraps run on libuv's
 * thread pool, which file and DNS work share: a bound keeps a burst of unwraps from taking all of it.
 */
class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await task();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** RSA-OAEP with SHA-256 (for OAEP and MGF1), as `publicEncrypt(..., oaepHash: 'sha256')` writes it. */
const RSA_OAEP_SHA256 = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;

/**
 * Unwraps data keys with the master private keys. The RSA private-key operation (a few
 * milliseconds each for 3072-bit keys) runs through WebCrypto, which does it on libuv's thread
 * pool: the event loop stays free however many fresh keys a request brings. At most
 * `concurrency` unwraps run at once; unwrapped keys are cached by the SHA-256 of their wrapped
 * form, and concurrent requests for the same key share one unwrap.
 */
class DataKeyUnwrapper {
  /** Entries kept before the oldest are dropped. */
  private static readonly CACHE_SIZE = 10_000;
  private readonly privateKeys = new Map<string, Promise<webcrypto.CryptoKey>>();
  private readonly cache = new Map<string, Promise<Buffer>>();
  private readonly limit: ConcurrencyLimit;

  constructor(keys: Keyring['temporalCodec']['keys'], concurrency: number) {
    this.limit = new ConcurrencyLimit(concurrency);
    for (const key of keys) {
      if (!key.privateKey) continue;
      const der = createPrivateKey(key.privateKey).export({ type: 'pkcs8', format: 'der' });
      const imported = webcrypto.subtle.importKey('pkcs8', der, RSA_OAEP_SHA256, false, ['decrypt']);
      // Surfaces when the key is first used, not as an unhandled rejection at start.
      imported.catch(() => undefined);
      this.privateKeys.set(key.keyId, imported);
    }
  }

  unwrap(keyId: string, wrapped: Uint8Array): Promise<Buffer> {
    // By master key and wrapped key: a wrapped key only opens under the key it was wrapped with.
    const cacheKey = `${keyId}:${createHash('sha256').update(wrapped).digest('base64')}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const privateKey = this.privateKeys.get(keyId);
    if (!privateKey)
      return Promise.reject(
        new CodecKeyError(`no private codec key ${keyId} in the keyring: cannot decrypt this payload`),
      );
    const unwrapping = this.limit.run(async () => {
      const key = await privateKey.catch(() => {
        throw new CodecKeyError(`codec key ${keyId} in the keyring is not an RSA private key`);
      });
      const dataKey = await webcrypto.subtle.decrypt(RSA_OAEP_SHA256, key, wrapped).catch(() => {
        throw new CodecKeyError(`the data key does not unwrap under codec key ${keyId}`);
      });
      return Buffer.from(dataKey);
    });
    unwrapping.catch(() => this.cache.delete(cacheKey));
    if (this.cache.size >= DataKeyUnwrapper.CACHE_SIZE) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(cacheKey, unwrapping);
    return unwrapping;
  }
}

export interface EnvelopeCodecOptions {
  /** Decode unencrypted payloads to nothing instead of passing them through (workers and clients). */
  refusePlaintext?: boolean;
  /** RSA unwraps run at once; by default one fewer than the cores, at least 1 and at most 2. */
  unwrapConcurrency?: number;
  /** Payloads encrypted under one data key before a new one is made (default 10,000). */
  dataKeyMaxUses?: number;
  /** How long one data key is used, in milliseconds (default 10 minutes). */
  dataKeyMaxAgeMs?: number;
}

/** A data key this process encrypts under, with its wrapped form, until it is used up or too old. */
interface CurrentDataKey {
  key: Buffer;
  wrapped: Uint8Array;
  uses: number;
  until: number;
}

/**
 * Encrypts every Temporal payload with AES-256-GCM (a random 96-bit IV each) under a data key,
 * and wraps that data key with the active RSA-OAEP (SHA-256) master key (envelope encryption). The
 * wrapped key and the master key's id travel in each payload's metadata, so histories written
 * under an older key still decode as long as the keyring keeps it, and rotating the master key
 * needs no re-encryption of history.
 *
 * A data key is reused for a bounded count and time (`dataKeyMaxUses`, `dataKeyMaxAgeMs`): an
 * RSA-3072 private operation costs about 1.5 ms, and with a key per payload every decode of every
 * activity input, result and update paid it. Now each process wraps a key once, and every reader
 * unwraps it once and caches it. A leaked data key exposes at most the payloads one process wrote
 * under it in those bounds; the master key still guards them all.
 *
 * Decoding unwraps each data key off the event loop (see {@link DataKeyUnwrapper}) and caches
 * it: decoding the same payload again (replay, queries) costs no RSA operation. A payload that
 * cannot be decrypted rejects the whole call with an {@link UndecodablePayloadError} naming it.
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
  private readonly unwrapper: DataKeyUnwrapper;
  private readonly refusePlaintext: boolean;
  private readonly dataKeyMaxUses: number;
  private readonly dataKeyMaxAgeMs: number;
  private current: CurrentDataKey | undefined;

  constructor(keys: Keyring['temporalCodec'], options: EnvelopeCodecOptions = {}) {
    this.refusePlaintext = options.refusePlaintext ?? false;
    this.dataKeyMaxUses = options.dataKeyMaxUses ?? 10_000;
    this.dataKeyMaxAgeMs = options.dataKeyMaxAgeMs ?? 10 * 60_000;
    const active = keys.keys.find((k) => k.keyId === keys.activeKeyId);
    if (!active) throw new CodecKeyError(`the active codec key ${keys.activeKeyId} is not in the keyring`);
    this.activeKeyId = active.keyId;
    this.publicKey = createPublicKey(active.publicKey);
    const concurrency = options.unwrapConcurrency ?? Math.max(1, Math.min(2, availableParallelism() - 1));
    this.unwrapper = new DataKeyUnwrapper(keys.keys, concurrency);
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((payload) => this.encodeOne(payload)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map((payload, index) =>
        this.decodeOne(payload).catch((err: unknown) => {
          throw new UndecodablePayloadError(index, err instanceof CodecKeyError ? err.message : 'damaged ciphertext');
        }),
      ),
    );
  }

  /** The data key to encrypt under now: the current one, or a new one once it is used up or old. */
  private dataKey(): CurrentDataKey {
    const now = Date.now();
    const current = this.current;
    if (current && current.uses < this.dataKeyMaxUses && now < current.until) {
      current.uses += 1;
      return current;
    }
    const key = randomBytes(32);
    // The wrap is a public-key operation (tens of microseconds): it stays on the calling thread.
    const wrapped = publicEncrypt(
      { key: this.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      key,
    );
    this.current = { key, wrapped: new Uint8Array(wrapped), uses: 1, until: now + this.dataKeyMaxAgeMs };
    return this.current;
  }

  private encodeOne(payload: Payload): Payload {
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    const { key, wrapped } = this.dataKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING]: utf8(ENCODING),
        [METADATA_KEY_ID]: utf8(this.activeKeyId),
        [METADATA_WRAPPED_KEY]: wrapped,
      },
      data: new Uint8Array(sealed),
    };
  }

  private async decodeOne(payload: Payload): Promise<Payload> {
    if (text(payload.metadata?.[METADATA_ENCODING]) !== ENCODING) return this.refusePlaintext ? REFUSED : payload;
    const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
    const wrapped = payload.metadata?.[METADATA_WRAPPED_KEY];
    const sealed = payload.data;
    if (!wrapped || !sealed || sealed.length < IV_BYTES + TAG_BYTES)
      throw new CodecKeyError('malformed encrypted payload');
    const dataKey = await this.unwrapper.unwrap(keyId, wrapped);
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
}

/** What an unencrypted payload decodes to where plaintext is refused: no value at all. */
const REFUSED: Payload = { metadata: { [METADATA_ENCODING]: utf8('binary/null') } };

/**
 * The failure converter module (`failureConverter` export) the SDK loads by path in workers and
 * clients, and bundles into the workflow sandbox: it moves every failure's message and stack trace
 * into an encoded payload, so they reach history encrypted like every other payload. Plain
 * JavaScript, because the SDK `require`s it where no TypeScript loader runs.
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.mjs', import.meta.url));

/** A data converter that encodes payloads with `codec`, and failure messages and stack traces with them. */
export function dataConverterWith(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** The data converter every client and worker of the project uses: it refuses plaintext. */
export function dataConverterFor(keyring: Pick<Keyring, 'temporalCodec'>): DataConverter {
  return dataConverterWith(new EnvelopeCodec(keyring.temporalCodec, { refusePlaintext: true }));
}
