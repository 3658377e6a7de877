import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Request signing between a platform backend and this API, shared by the API (which verifies)
 * and the client (which signs), so both compute exactly the same bytes.
 *
 * The signature is HMAC-SHA256 with the key's secret over
 *
 *     timestamp "\n" nonce "\n" METHOD "\n" path-with-query "\n" hex(SHA-256(raw body bytes))
 *
 * sent as `X-Signature: v1=<hex>` beside `X-Key-Id`, `X-Timestamp` (unix seconds) and `X-Nonce`.
 */
export const SIGNATURE_VERSION = 'v1';
export const SIGNATURE_HEADERS = {
  keyId: 'x-key-id',
  timestamp: 'x-timestamp',
  nonce: 'x-nonce',
  signature: 'x-signature',
} as const;
/** Requests whose timestamp is further than this from the API's clock, either way, are refused. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
export const NONCE_PATTERN = /^[\x21-\x7e]{16,64}$/;
export const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export interface SignatureInput {
  timestamp: number;
  nonce: string;
  method: string;
  /** The request target as sent: path and query string, e.g. `/v1/payments?expand=x`. */
  pathWithQuery: string;
  body: Uint8Array | string;
}

export function bodyDigest(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The exact string that is signed. */
export function stringToSign({ timestamp, nonce, method, pathWithQuery, body }: SignatureInput): string {
  return [String(timestamp), nonce, method.toUpperCase(), pathWithQuery, bodyDigest(body)].join('\n');
}

/** The hex HMAC-SHA256 of {@link stringToSign} with `secret`. */
export function computeSignature(secret: string, input: SignatureInput): string {
  return createHmac('sha256', secret).update(stringToSign(input)).digest('hex');
}

export interface PlatformKey {
  keyId: string;
  secret: string;
}

/** The four headers that authenticate one request. A fresh nonce and the current time by default. */
export function signatureHeaders(
  key: PlatformKey,
  request: Omit<SignatureInput, 'timestamp' | 'nonce'> & { timestamp?: number; nonce?: string },
): Record<string, string> {
  const timestamp = request.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = request.nonce ?? randomBytes(16).toString('hex');
  const signature = computeSignature(key.secret, { ...request, timestamp, nonce });
  return {
    [SIGNATURE_HEADERS.keyId]: key.keyId,
    [SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: `${SIGNATURE_VERSION}=${signature}`,
  };
}
