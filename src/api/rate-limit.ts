import type { Request, RequestHandler, Response } from 'express';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import { ApiError } from './errors.js';

const WINDOW_SECONDS = 60;

export interface RateLimitOptions {
  models: Models;
  /** Names the counter family: `platform` (per key), `public` or `callback` (per client address). */
  scope: string;
  limitPerMinute: number;
  /** Who is counted: the platform key id, or the client's address. */
  callerOf: (req: Request, locals: Record<string, unknown>) => string;
  /**
   * Answers a caller whose budget is spent, for callers that must hear it in a format of their own
   * (a channel's failure ack). By default: 429 `rate_limited` in the API's error shape.
   */
  onLimited?: (req: Request, res: Response) => void;
  now?: () => number;
}

/**
 * A fixed one-minute window per caller, counted in MongoDB so that every API process shares it
 * (one atomic upsert keyed by `_id` per request). Answers 429 `rate_limited` with `Retry-After`
 * (or what `onLimited` answers) once the window's budget is spent, and reports the budget in
 * `RateLimit-*` headers.
 */
export function rateLimit({
  models,
  scope,
  limitPerMinute,
  callerOf,
  onLimited,
  now = Date.now,
}: RateLimitOptions): RequestHandler {
  return async (req, res, next) => {
    const nowMs = now();
    const windowStart = Math.floor(nowMs / 1000 / WINDOW_SECONDS) * WINDOW_SECONDS;
    const resetSeconds = Math.max(1, windowStart + WINDOW_SECONDS - Math.floor(nowMs / 1000));
    const caller = callerOf(req, res.locals);
    const count = () =>
      models.rateLimitWindows
        .findOneAndUpdate(
          { _id: `${scope}:${caller}:${windowStart}` },
          { $inc: { count: 1 }, $setOnInsert: { expiresAt: new Date((windowStart + 2 * WINDOW_SECONDS) * 1000) } },
          { upsert: true, new: true },
        )
        .lean();
    // Two first requests of a window may race to insert it: the loser finds it on a second try.
    const window = await count().catch((err: unknown) => {
      if (isDuplicateKeyError(err)) return count();
      throw err;
    });
    const used = window?.count ?? 1;
    res.setHeader('RateLimit-Limit', String(limitPerMinute));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, limitPerMinute - used)));
    res.setHeader('RateLimit-Reset', String(resetSeconds));
    if (used > limitPerMinute) {
      res.setHeader('Retry-After', String(resetSeconds));
      if (onLimited) return onLimited(req, res);
      throw new ApiError(
        429,
        'rate_limit_error',
        'rate_limited',
        `More than ${limitPerMinute} requests in a minute; retry after ${resetSeconds} s.`,
      );
    }
    next();
  };
}
