import { createHash, randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { FieldCipher } from '../crypto/field-cipher.js';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import type { Logger } from '../logger.js';
import { rawBodyOf } from './body.js';
import { ApiError, ROUTING_ERROR_CODES } from './errors.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const RETENTION_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyOptions {
  models: Models;
  fieldCipher: FieldCipher;
  logger: Logger;
  /**
   * How long a first request holds its key without renewing it: the holder renews it every third
   * of this while it runs (also after a 503 from the response timeout), so a process that died
   * with it frees the key after at most this long.
   */
  lockMs: number;
  /**
   * The longest a request may hold its key by renewing it: a request hung past this (a call that
   * never returns) frees the key for a retry instead of holding it for good.
   */
  maxHoldMs: number;
  now?: () => number;
}

/**
 * The body as the request hash sees it: canonical JSON, so key order and whitespace do not make
 * a retry look different. JSON that has no canonical form (a number too large for a double, such
 * as `1e400`) is taken as the bytes sent: no schema accepts it, so its record only lives until
 * validation refuses it.
 */
function fingerprintOf(req: Request): string {
  try {
    return `json:${canonicalJson(req.body ?? null)}`;
  } catch {
    return `raw:${rawBodyOf(req).toString('base64')}`;
  }
}

/**
 * An error answer to a request no endpoint acted on: its input was refused (a bad parameter or
 * path) or nothing serves it (no such route or method). Such answers are not kept, so the same key
 * may carry the corrected request.
 */
function notStarted(error: { type?: string; code?: string } | undefined): boolean {
  if (error === undefined) return false;
  return (
    error.type === 'validation_error' ||
    error.type === 'invalid_request_error' ||
    ROUTING_ERROR_CODES.has(error.code ?? '')
  );
}

const inProgress = () =>
  new ApiError(
    409,
    'idempotency_error',
    'idempotency_request_in_progress',
    'A request with this Idempotency-Key is still being processed; retry it in a moment.',
    'Idempotency-Key',
  );

/**
 * `Idempotency-Key` on POSTs, with Stripe's semantics, scoped to the platform key: the first
 * answer (status and body) is stored with a hash of the request for 24 h and replayed to retries
 * (`Idempotent-Replayed: true`); the same key with different parameters answers 409
 * `idempotency_key_reused`; while the first request still runs, 409 `idempotency_request_in_progress`.
 * Nothing is kept for a request no endpoint acted on (its parameters or path failed validation,
 * or no route or method serves it) nor for an answer of 500 and above, so a retry runs again.
 * The stored body is encrypted. Each holder of a key writes only under its own lock id, so a late
 * first request can never overwrite a later one's record.
 */
export function idempotency({
  models,
  fieldCipher,
  logger,
  lockMs,
  maxHoldMs,
  now = Date.now,
}: IdempotencyOptions): RequestHandler {
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
      .update(`${req.method}\n${req.originalUrl}\n${fingerprintOf(req)}`)
      .digest('hex');
    const at = now();
    const lockId = randomUUID();
    const fresh = {
      requestHash,
      lockId,
      state: 'in_flight',
      lockedUntil: new Date(at + lockMs),
      status: null,
      body: null,
      createdAt: new Date(at),
      expiresAt: new Date(at + RETENTION_MS),
    };
    const claim = async () => {
      try {
        await records.create({ _id, ...fresh });
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    };

    if (!(await claim())) {
      const existing = await records.findOne({ _id }).lean();
      if (!existing) {
        // Released between our insert and our read: claim it once more, or someone else did.
        if (!(await claim())) throw inProgress();
      } else if (existing.expiresAt.getTime() <= at) {
        // Kept past its 24 h and not swept yet: a new request; only one retry may take it.
        const taken = await records.findOneAndUpdate({ _id, expiresAt: { $lte: new Date(at) } }, { $set: fresh });
        if (!taken) throw inProgress();
      } else if (existing.requestHash !== requestHash) {
        throw new ApiError(
          409,
          'idempotency_error',
          'idempotency_key_reused',
          'This Idempotency-Key was used with different parameters; use a new key for a new request.',
          'Idempotency-Key',
        );
      } else if (
        existing.state === 'done' &&
        typeof existing.status === 'number' &&
        typeof existing.body === 'string'
      ) {
        let body: string;
        try {
          body = fieldCipher.decrypt(existing.body);
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'a stored idempotent answer cannot be decrypted');
          throw new ApiError(
            503,
            'service_unavailable_error',
            'idempotency_record_unreadable',
            'The answer kept for this Idempotency-Key cannot be read; read the payment, or retry with a new key.',
          );
        }
        res.setHeader('Idempotent-Replayed', 'true');
        res.status(existing.status).type('application/json').send(body);
        return;
      } else {
        // Still in flight: take it over only if its holder's lock ran out (that process died).
        const taken = await records.findOneAndUpdate(
          { _id, state: 'in_flight', lockedUntil: { $lte: new Date(at) } },
          { $set: fresh },
        );
        if (!taken) throw inProgress();
      }
    }

    // The lock is a lease: renewed while this request runs (up to `maxHoldMs`), so a retry waits
    // for a live holder, and takes the key over within `lockMs` of a holder that died.
    const renewal = setInterval(
      () => {
        void (async () => {
          const until = Math.min(now() + lockMs, at + maxHoldMs);
          if (until <= now()) {
            clearInterval(renewal);
            return;
          }
          const current = await records.findOne({ _id }, { lockId: 1, state: 1 }).lean();
          if (current?.lockId !== lockId || current.state !== 'in_flight') return;
          await records.updateOne({ _id }, { $set: { lockedUntil: new Date(until) } });
        })().catch((err: unknown) =>
          logger.warn({ err: (err as Error).message }, 'could not renew an idempotency lock'),
        );
      },
      Math.max(1_000, Math.floor(lockMs / 3)),
    );
    renewal.unref();
    // A request the response timeout answered goes on and settles its record later (below).
    res.once('close', () => {
      if (!res.locals.timedOut) clearInterval(renewal);
    });

    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      // The response timeout answered for us: the request goes on and still settles the record.
      if (res.locals.timedOut && !res.headersSent) return send(body);
      const status = res.statusCode;
      const rejectedInput = notStarted((body as { error?: { type?: string; code?: string } } | undefined)?.error);
      const settle = async () => {
        // Read, then write the answer by `_id` alone: the one filter every MongoDB-wire server
        // answers from an index (a filter on `_id` and `lockId` reads the whole collection on
        // FerretDB). Between the two, another holder can only take the key over after this one's
        // lease ran out, and would then write its own answer after ours.
        const current = await records.findOne({ _id }, { lockId: 1 }).lean();
        if (current?.lockId !== lockId) return;
        // Deleting keeps the lock id in its filter (a rare path): a newer holder's lock stays.
        if (status >= 500 || rejectedInput) await records.deleteOne({ _id, lockId });
        else
          await records.updateOne(
            { _id },
            { $set: { state: 'done', status, body: fieldCipher.encrypt(JSON.stringify(body)) } },
          );
      };
      settle()
        .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not store an idempotent answer'))
        .finally(() => {
          clearInterval(renewal);
          if (res.headersSent) return;
          res.status(status);
          send(body);
        });
      return res;
    };
    next();
  };
}
