import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { verifyCertificateChain } from '../../crypto/certificates.js';
import { signSha256Rsa, verifySha256Rsa } from '../rsa.js';

/**
 * UnionPay online gateway (ACP) wire format, version 5.1.0 with `signMethod 01` (RSA
 * certificates): form fields signed over their sorted `k=v` string, Beijing time, order ids, and
 * the trust check of the signing certificate every UnionPay message carries. See PROTOCOLS.md.
 */

export const UNIONPAY_VERSION = '5.1.0';
/** RSA certificate signing: `base64(SHA256withRSA(hex(SHA-256(k=v&...))))`. */
export const UNIONPAY_SIGN_METHOD = '01';
/** ISO 4217 numeric code of CNY, the only currency the gateway is used for here. */
export const UNIONPAY_CNY = '156';
/** Consume: `txnType 01`, `txnSubType 01`, `bizType 000201` (online gateway payment). */
export const UNIONPAY_CONSUME = { txnType: '01', txnSubType: '01', bizType: '000201' } as const;
/** Refund (`退货`): `txnType 04`, a new `orderId`, the payment's `queryId` as `origQryId`. */
export const UNIONPAY_REFUND = { txnType: '04', txnSubType: '00', bizType: '000201' } as const;
/** Status query, by `orderId` and `txnTime` of the transaction asked about. */
export const UNIONPAY_QUERY = { txnType: '00', txnSubType: '00', bizType: '000000' } as const;

/** `respCode`s: `00` success; `A6` partial success (a notification that still means paid). */
export const UNIONPAY_SUCCESS = '00';
export const UNIONPAY_PARTIAL_SUCCESS = 'A6';
/** The query found no such transaction. */
export const UNIONPAY_NOT_FOUND = '34';
/** Transaction states a query reports in `origRespCode` that are not final: processing. */
export const UNIONPAY_PROCESSING_CODES: ReadonlySet<string> = new Set(['03', '04', '05']);
/** `respCode`s that mean the gateway could not serve the request now: try again. */
export const UNIONPAY_RETRYABLE_CODES: ReadonlySet<string> = new Set(['03', '04', '05', '06', '99']);

/** `orderId`: 8 to 32 letters and digits, no `-` or `_`. */
export const UNIONPAY_ORDER_ID = /^[A-Za-z0-9]{8,32}$/;
const UNIONPAY_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** UnionPay's clock: `YYYYMMDDhhmmss` in Beijing time (UTC+8). */
export function formatUnionpayTime(at: Date): string {
  return new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace(/[-T:]/g, '');
}

/** Reads a `YYYYMMDDhhmmss` (Beijing); `undefined` unless it names a real instant. */
export function parseUnionpayTime(text: string | undefined): Date | undefined {
  const m = text === undefined ? null : UNIONPAY_TIME.exec(text);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`);
  return Number.isNaN(at.getTime()) || formatUnionpayTime(at) !== text ? undefined : at;
}

const PAYMENT_ID_PREFIX = 'pay_';

/** A payment's `orderId`: the payment id without its `pay_` prefix (28 letters and digits). */
export function unionpayOrderIdOf(paymentId: string): string {
  const orderId = paymentId.startsWith(PAYMENT_ID_PREFIX) ? paymentId.slice(PAYMENT_ID_PREFIX.length) : paymentId;
  if (!UNIONPAY_ORDER_ID.test(orderId)) throw new RangeError(`payment id ${paymentId} makes no UnionPay orderId`);
  return orderId;
}

/** The payment id of a payment's `orderId`. */
export function paymentIdOfUnionpayOrder(orderId: string): string {
  return `${PAYMENT_ID_PREFIX}${orderId}`;
}

/**
 * A refund's `orderId`: 32 hex characters of SHA-256 of our refund id (refund ids carry `_` and
 * `-`, which `orderId` may not). The refund id itself travels in `reqReserved`, which UnionPay
 * echoes in the answer and the notification.
 */
export function unionpayRefundOrderIdOf(refundId: string): string {
  return createHash('sha256').update(`refund:${refundId}`).digest('hex').slice(0, 32);
}

/**
 * The string UnionPay signs over: every field with a non-empty value except `signature`, sorted
 * by name, joined as `k=v` with `&`, values as they are.
 */
export function unionpaySigningString(fields: Readonly<Record<string, string | undefined>>): string {
  return Object.keys(fields)
    .filter((key) => key !== 'signature' && fields[key] !== undefined && fields[key] !== '')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

/** What 5.1.0 signs: the lower-case hex SHA-256 of the signing string. */
function digestOf(fields: Readonly<Record<string, string | undefined>>): string {
  return createHash('sha256').update(unionpaySigningString(fields), 'utf8').digest('hex');
}

/** `fields` with their `signature` (5.1.0, `signMethod 01`). */
export function signUnionpayFields(
  fields: Readonly<Record<string, string>>,
  privateKey: string | KeyObject,
): Record<string, string> {
  return { ...fields, signature: signSha256Rsa(digestOf(fields), privateKey) };
}

/** Whether `fields.signature` is a 5.1.0 signature of the other fields by `publicKey`; never throws. */
export function verifyUnionpayFields(
  fields: Readonly<Record<string, string | undefined>>,
  publicKey: string | KeyObject,
): boolean {
  return verifySha256Rsa(digestOf(fields), fields.signature ?? '', publicKey);
}

/** UnionPay's certificate chain, as configured: its root and intermediate CA certificates. */
export interface UnionpayTrust {
  root: X509Certificate;
  intermediate: X509Certificate;
  /** The subject CN UnionPay's signing certificate must carry (`中国银联股份有限公司` for the real one). */
  signerCommonName: string;
}

export function unionpayTrustOf(config: {
  rootCertificate: string;
  intermediateCertificate: string;
  signerCommonName: string;
}): UnionpayTrust {
  return {
    root: new X509Certificate(config.rootCertificate),
    intermediate: new X509Certificate(config.intermediateCertificate),
    signerCommonName: config.signerCommonName,
  };
}

/** Longest field value read from a UnionPay message (a PEM certificate is about 1.5 kB). */
export const UNIONPAY_FIELD_MAX_LENGTH = 8192;

/**
 * Checks a message UnionPay signed (an answer or a back notification): version 5.1.0, sign method
 * 01, a `signPubKeyCert` that chains to the configured root through the intermediate, is valid now
 * and names UnionPay, and a signature by its key. Answers `undefined` when it holds, else why not.
 */
export function checkUnionpaySignature(
  fields: Readonly<Record<string, string | undefined>>,
  trust: UnionpayTrust,
  now: Date = new Date(),
): string | undefined {
  if (fields.version !== UNIONPAY_VERSION) return 'unsupported_version';
  if (fields.signMethod !== UNIONPAY_SIGN_METHOD) return 'unsupported_sign_method';
  const certificate = fields.signPubKeyCert;
  if (!certificate || !fields.signature) return 'missing_signature';
  const trusted = verifyCertificateChain(certificate, trust, { now, commonName: trust.signerCommonName });
  if (!trusted.ok) return trusted.reason;
  return verifyUnionpayFields(fields, trusted.publicKey) ? undefined : 'bad_signature';
}

/**
 * Reads a form-encoded UnionPay message. `undefined` when a field is repeated or longer than
 * {@link UNIONPAY_FIELD_MAX_LENGTH}: a genuine message has neither.
 */
export function parseUnionpayForm(body: string): Record<string, string> | undefined {
  const fields: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(fields, key) || value.length > UNIONPAY_FIELD_MAX_LENGTH) return undefined;
    fields[key] = value;
  }
  return fields;
}

/** A form-encoded message: what the merchant posts and what the gateway answers. */
export function unionpayFormOf(fields: Readonly<Record<string, string>>): string {
  return new URLSearchParams(fields).toString();
}

/** `txnAmt`: the amount in fen, digits only. */
export function unionpayAmountOf(amount: number): string {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`not an amount in fen: ${amount}`);
  return String(amount);
}

/** A `txnAmt` as fen; `undefined` unless it is 1 to 12 digits. */
export function fenOfUnionpayAmount(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}
