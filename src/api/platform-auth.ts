import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import {
  KEY_ID_PATTERN,
  NONCE_PATTERN,
  SIGNATURE_HEADERS,
  SIGNATURE_TOLERANCE_SECONDS,
  SIGNATURE_VERSION,
  stringToSign,
  type PlatformKey,
} from '../crypto/request-signing.js';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import { ApiError, type ApiErrorCode } from './errors.js';
import { rawBodyOf } from './body.js';

const SIGNATURE_VALUE = new RegExp(`^${SIGNATURE_VERSION}=([0-9a-f]{64})$`);
const TIMESTAMP = /^\d{1,12}$/;
/** Signs for unknown key ids, so that they cost the same time as known ones. */
const DECOY_SECRET = 'decoy-secret-of-unknown-key-ids-0000000000';

const unauthenticated = (code: ApiErrorCode, message: string) =>
  new ApiError(401, 'authentication_error', code, message);
const GUIDE = 'See "Signing requests" in the README.';

export interface PlatformAuthOptions {
  keys: readonly PlatformKey[];
  models: Models;
  /** Seconds since the epoch; the API's clock. */
  now?: () => number;
}

/**
 * Authenticates a platform backend's request by its HMAC signature (see src/crypto/request-signing.ts):
 * the key must be one of `PLATFORM_KEYS`, the signature must match the raw body bytes, the
 * timestamp must be within 300 s of the API's clock, and the nonce must not have been used by
 * that key before. Failures answer 401 with a code and no hint of which part was wrong beyond it.
 * Sets `res.locals.platformKeyId` for the rate limit, idempotency and the request log.
 */
export function platformAuth({ keys, models, now = () => Date.now() / 1000 }: PlatformAuthOptions): RequestHandler {
  const secrets = new Map(keys.map((k) => [k.keyId, k.secret]));
  return async (req, res, next) => {
    const keyId = req.get(SIGNATURE_HEADERS.keyId);
    const timestamp = req.get(SIGNATURE_HEADERS.timestamp);
    const nonce = req.get(SIGNATURE_HEADERS.nonce);
    const signature = req.get(SIGNATURE_HEADERS.signature);
    if (!keyId || !timestamp || !nonce || !signature) {
      throw unauthenticated(
        'authentication_required',
        `Sign the request: X-Key-Id, X-Timestamp, X-Nonce and X-Signature are required. ${GUIDE}`,
      );
    }
    const given = SIGNATURE_VALUE.exec(signature)?.[1];
    const wellFormed =
      given !== undefined && KEY_ID_PATTERN.test(keyId) && TIMESTAMP.test(timestamp) && NONCE_PATTERN.test(nonce);
    const secret = secrets.get(keyId);
    const expected = createHmac('sha256', secret ?? DECOY_SECRET)
      .update(
        stringToSign({
          timestamp: Number(timestamp),
          nonce,
          method: req.method,
          pathWithQuery: req.originalUrl,
          body: rawBodyOf(req),
        }),
      )
      .digest();
    const matches = timingSafeEqual(expected, Buffer.from(given ?? '0'.repeat(64), 'hex'));
    if (!wellFormed || secret === undefined || !matches) {
      throw unauthenticated('signature_invalid', `The request signature is not valid. ${GUIDE}`);
    }
    const seconds = Number(timestamp);
    const clock = now();
    if (Math.abs(clock - seconds) > SIGNATURE_TOLERANCE_SECONDS) {
      throw unauthenticated(
        'timestamp_out_of_range',
        `X-Timestamp must be within ${SIGNATURE_TOLERANCE_SECONDS} s of the current time; check the caller's clock.`,
      );
    }
    try {
      // Kept until the timestamp is out of the tolerance, after which it is refused for that reason.
      const expiresAt = new Date((Math.max(seconds, clock) + SIGNATURE_TOLERANCE_SECONDS + 60) * 1000);
      await models.requestNonces.create({ _id: `${keyId}:${nonce}`, expiresAt });
    } catch (err) {
      if (isDuplicateKeyError(err)) {
        throw unauthenticated('nonce_reused', 'This X-Nonce was already used; sign every request with a new one.');
      }
      throw err;
    }
    res.locals.platformKeyId = keyId;
    next();
  };
}
