import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import type { Logger } from '../logger.js';
import { ApiError } from './errors.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const RETENTION_MS = 24 * 60 * 60 * 1000;
/** How long a first request holds its key; a process that died with it frees the key after this. */
const LOCK_MS = 2 * 60 * 1000;

export interface IdempotencyOptions {
  models: Models;
  fieldCipher: FieldCipher;
  logger: Logger;
  now?: () => number;
}

/**
 * `Idempotency-Key` on POSTs, with Stripe's semantics, scoped to the platform key: the first
 * answer (status and body) is stored with a hash of the request for 24 h and replayed to retries
 * (`Idempotent-Replayed: true`); the same key with different parameters answers 409
 * `idempotency_key_reused`; while the first request still runs, 409 `idempotency_request_in_progress`.
 * Answers of 500 and above are not kept, so a retry runs again. The stored body is encrypted.
 */
export function idempotency({ models, fieldCipher, logger, now = Date.now }: IdempotencyOptions): RequestHandler {
  const records = models.idempotencyRecords;
  return async (req, res, next) => {
    const key = req.get(IDEMPOTENCY_HEADER);
    if (req.method !== 'POST' || key === undefined) {
      next();
      return;
    }
    if (!KEY_PATTERN.test(key)) {
      throw new ApiError(
        400,
        'invalid_request_error',
        'idempotency_key_invalid',
        'Idempotency-Key must be 1 to 255 printable ASCII characters.',
        'Idempotency-Key',
      );
    }
    const _id = `${String(res.locals.platformKeyId)}:${key}`;
    const requestHash = createHash('sha256')
      .update(`${req.method}\n${req.originalUrl}\n${canonicalJson(req.body ?? null)}`)
      .digest('hex');
    const at = now();
    const fresh = {
      requestHash,
      state: 'in_flight',
      lockedUntil: new Date(at + LOCK_MS),
      status: null,
      body: null,
      createdAt: new Date(at),
      expiresAt: new Date(at + RETENTION_MS),
    };
    let owned = false;
    try {
      await records.create({ _id, ...fresh });
      owned = true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    if (!owned) {
      const existing = await records.findOne({ _id }).lean();
      const live = existing && existing.expiresAt.getTime() > at ? existing : null;
      const expired = live === null;
      if (live && live.requestHash !== requestHash) {
        throw new ApiError(
          409,
          'idempotency_error',
          'idempotency_key_reused',
          'This Idempotency-Key was used with different parameters; use a new key for a new request.',
          'Idempotency-Key',
        );
      }
      if (live?.state === 'done' && typeof live.status === 'number' && typeof live.body === 'string') {
        res.setHeader('Idempotent-Replayed', 'true');
        res.status(live.status).type('application/json').send(fieldCipher.decrypt(live.body));
        return;
      }
      // Expired, or still in flight: take it over only if its holder's lock ran out.
      const taken = await records.findOneAndUpdate(
        expired ? { _id } : { _id, state: 'in_flight', lockedUntil: { $lte: new Date(at) } },
        { $set: fresh },
        { upsert: expired, new: true },
      );
      if (!taken) {
        throw new ApiError(
          409,
          'idempotency_error',
          'idempotency_request_in_progress',
          'A request with this Idempotency-Key is still being processed; retry it in a moment.',
          'Idempotency-Key',
        );
      }
    }

    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      const status = res.statusCode;
      const settle =
        status >= 500
          ? records.deleteOne({ _id, state: 'in_flight' })
          : records.updateOne(
              { _id, state: 'in_flight' },
              { $set: { state: 'done', status, body: fieldCipher.encrypt(JSON.stringify(body)) } },
            );
      settle
        .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not store an idempotent answer'))
        .finally(() => {
          if (!res.headersSent) send(body);
        });
      return res;
    };
    next();
  };
}
