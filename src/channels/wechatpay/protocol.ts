import { createDecipheriv, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import type { ApiKeyring, Keyring } from '../../crypto/keyring.js';
import type { Currency } from '../../../domain/money.js';
import { signSha256Rsa, verifySha256Rsa } from '../rsa.js';
import { merchantSigningKey } from '../types.js';

/**
 * WeChat Pay API v3 wire format: the merchant's `Authorization`, WeChat Pay's `Wechatpay-*`
 * signatures over answers and notifications (keys by serial), AES-256-GCM notification resources,
 * RFC 3339 Beijing time and fen. See PROTOCOLS.md.
 */

export const WECHATPAY_SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
/** How far a signed answer's or notification's timestamp may be from our clock. */
export const WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS = 300;
/**
 * Longest `Wechatpay-*` header value read (an RSA-4096 signature is 684 base64 characters); a
 * longer one is refused before anything parses it.
 */
export const WECHATPAY_HEADER_MAX_LENGTH = 1024;
/** Longest `Authorization` header read: the scheme and five short parameters, with room to spare. */
export const WECHATPAY_AUTHORIZATION_MAX_LENGTH = 2048;
/** WeChat Pay's generic failure: the reason stays in our callback record, not on the wire. */
export const WECHATPAY_FAILURE_ACK_BODY = JSON.stringify({ code: 'FAIL', message: '失败' });

/** WeChat Pay's RFC 3339 time with the Asia/Shanghai offset: `2026-02-10T15:04:05+08:00`. */
export function formatWechatpayTime(at: Date): string {
  return `${new Date(at.getTime() + 8 * 60 * 60 * 1000).toISOString().slice(0, 19)}+08:00`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseWechatpayTime(text: string | undefined): Date | undefined {
  if (text === undefined || !RFC3339.test(text)) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** CNY minor units are fen: the wire amount is the same integer, checked to be one. */
export function minorToFen(amount: number, currency: Currency): number {
  if (currency !== 'CNY' || !Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(`WeChat Pay takes non-negative integer CNY amounts, got ${amount} ${currency}`);
  }
  return amount;
}

/** A wire amount in fen as minor units; `undefined` unless it is a non-negative safe integer. */
export function fenToMinor(fen: unknown): number | undefined {
  return typeof fen === 'number' && Number.isSafeInteger(fen) && fen >= 0 ? fen : undefined;
}

/** What the merchant signs: `METHOD\nURL\ntimestamp\nnonce\nbody\n`, URL being path and query. */
export function wechatpayRequestMessage(
  method: string,
  pathWithQuery: string,
  timestamp: string,
  nonce: string,
  body: string,
): string {
  return `${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** What WeChat Pay signs on answers and notifications: `timestamp\nnonce\nbody\n` over the raw body bytes. */
export function wechatpayMessage(timestamp: string, nonce: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), body, Buffer.from('\n', 'utf8')]);
}

/** 32 upper-case hexadecimal characters. */
export function wechatpayNonce(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

export interface WechatpayAuthorization {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

/** The merchant's `Authorization` header for one request; `body` is the exact text sent ('' for GET). */
export function wechatpayAuthorization(
  merchant: Pick<ApiKeyring['wechatpay'], 'mchId' | 'merchantSerialNo' | 'merchantPrivateKey'>,
  method: string,
  pathWithQuery: string,
  body: string,
  options: { now?: Date; nonce?: string } = {},
): string {
  const timestamp = String(Math.floor((options.now ?? new Date()).getTime() / 1000));
  const nonce = options.nonce ?? wechatpayNonce();
  const message = wechatpayRequestMessage(method, pathWithQuery, timestamp, nonce, body);
  const signature = signSha256Rsa(message, merchantSigningKey(merchant.merchantPrivateKey));
  return (
    `${WECHATPAY_SIGNATURE_TYPE} mchid="${merchant.mchId}",nonce_str="${nonce}",` +
    `timestamp="${timestamp}",serial_no="${merchant.merchantSerialNo}",signature="${signature}"`
  );
}

const SPACE = 0x20;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;

/** `[A-Za-z0-9_]`, what a parameter name is made of. */
function isNameCharacter(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f
  );
}

/**
 * Reads `name="value",name="value"...` (spaces allowed around the commas) in one pass from left to
 * right that looks at each character once, so the work is linear in the length whatever the text
 * (a backtracking regex over it was quadratic). `onCharacter` is called for each character looked
 * at, for tests to count. `undefined` for anything else: a name not of `[A-Za-z0-9_]`, a value
 * without both its quotes, a missing or trailing comma, or a name given twice.
 */
export function parseQuotedParameters(text: string, onCharacter?: () => void): Map<string, string> | undefined {
  const params = new Map<string, string>();
  let state: 'name' | 'nameOrSpace' | 'openQuote' | 'value' | 'commaOrSpace' = 'nameOrSpace';
  let start = 0;
  let name = '';
  for (let i = 0; i < text.length; i += 1) {
    onCharacter?.();
    const code = text.charCodeAt(i);
    switch (state) {
      case 'nameOrSpace':
        if (code === SPACE) break;
        if (!isNameCharacter(code)) return undefined;
        start = i;
        state = 'name';
        break;
      case 'name':
        if (isNameCharacter(code)) break;
        if (code !== EQUALS) return undefined;
        name = text.slice(start, i);
        state = 'openQuote';
        break;
      case 'openQuote':
        if (code !== QUOTE) return undefined;
        start = i + 1;
        state = 'value';
        break;
      case 'value':
        if (code !== QUOTE) break;
        if (params.has(name)) return undefined;
        params.set(name, text.slice(start, i));
        state = 'commaOrSpace';
        break;
      case 'commaOrSpace':
        if (code === SPACE) break;
        if (code !== COMMA) return undefined;
        state = 'nameOrSpace';
        break;
    }
  }
  return state === 'commaOrSpace' ? params : undefined;
}

/**
 * Reads an `Authorization` header; `undefined` unless it has the scheme and all five parameters.
 * A header longer than {@link WECHATPAY_AUTHORIZATION_MAX_LENGTH} is refused before it is parsed.
 */
export function parseWechatpayAuthorization(
  header: string | undefined,
  onCharacter?: () => void,
): WechatpayAuthorization | undefined {
  if (header === undefined || header.length > WECHATPAY_AUTHORIZATION_MAX_LENGTH) return undefined;
  if (!header.startsWith(`${WECHATPAY_SIGNATURE_TYPE} `)) return undefined;
  const params = parseQuotedParameters(header.slice(WECHATPAY_SIGNATURE_TYPE.length + 1), onCharacter);
  if (params === undefined) return undefined;
  const mchid = params.get('mchid');
  const nonce = params.get('nonce_str');
  const timestamp = params.get('timestamp');
  const serial = params.get('serial_no');
  const signature = params.get('signature');
  if (!mchid || !nonce || !timestamp || !serial || !signature) return undefined;
  return { mchid, nonce_str: nonce, timestamp, serial_no: serial, signature };
}

/** WeChat Pay's keys by serial (platform certificate serial or `PUB_KEY_ID_...`). */
export type WechatpayKeys = ReadonlyMap<string, KeyObject>;

export function wechatpayKeysOf(platformKeys: Keyring['wechatpay']['platformKeys']): WechatpayKeys {
  return new Map(platformKeys.map((key) => [key.serial, createPublicKey(key.publicKey)]));
}

/**
 * Checks a WeChat Pay signature (`Wechatpay-*` headers, lower-cased names) over the raw body.
 * Answers `undefined` when it holds, else why not: `missing_signature`, `oversized_header` (longer
 * than {@link WECHATPAY_HEADER_MAX_LENGTH}), `unsupported_sign_type`, `unknown_serial` (fail
 * closed: no key with that serial), `bad_signature`, `stale_timestamp` (more than
 * {@link WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS} from `now`).
 */
export function checkWechatpaySignature(
  headers: Readonly<Record<string, string | undefined>>,
  body: Buffer,
  keys: WechatpayKeys,
  now: Date = new Date(),
): string | undefined {
  const serial = headers['wechatpay-serial'];
  const signature = headers['wechatpay-signature'];
  const timestamp = headers['wechatpay-timestamp'];
  const nonce = headers['wechatpay-nonce'];
  const signatureType = headers['wechatpay-signature-type'];
  if (!serial || !signature || !timestamp || !nonce) return 'missing_signature';
  if ([serial, signature, timestamp, nonce, signatureType ?? ''].some((v) => v.length > WECHATPAY_HEADER_MAX_LENGTH)) {
    return 'oversized_header';
  }
  if (signatureType !== undefined && signatureType !== WECHATPAY_SIGNATURE_TYPE) return 'unsupported_sign_type';
  const key = keys.get(serial);
  if (key === undefined) return 'unknown_serial';
  if (!verifySha256Rsa(wechatpayMessage(timestamp, nonce, body), signature, key)) return 'bad_signature';
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(now.getTime() / 1000 - seconds) <= WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS)) return 'stale_timestamp';
  return undefined;
}

export interface WechatpayResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
  original_type?: string;
}

/**
 * Decrypts a notification resource: AES-256-GCM with the 32-byte APIv3 key, the resource's
 * nonce, `associated_data` as AAD and the 16-byte tag at the end of the base64 ciphertext.
 * Throws if the tag does not authenticate (wrong key, nonce or AAD, altered ciphertext).
 */
export function decryptWechatpayResource(resource: WechatpayResource, apiV3Key: string): string {
  if (resource.algorithm !== 'AEAD_AES_256_GCM') throw new Error(`unsupported algorithm ${resource.algorithm}`);
  const sealed = Buffer.from(resource.ciphertext, 'base64');
  if (sealed.length <= 16) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(resource.nonce, 'utf8'), {
    authTagLength: 16,
  });
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8');
}
