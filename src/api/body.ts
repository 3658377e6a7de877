import express, { type Request, type RequestHandler } from 'express';
import { ApiError } from './errors.js';

const RAW_BODY = Symbol('rawBody');
type WithRawBody = Request & { [RAW_BODY]?: Buffer };

const EMPTY = Buffer.alloc(0);

/** The request's body bytes as received (empty when it had none), for signatures and hashes. */
export function rawBodyOf(req: Request): Buffer {
  return (req as WithRawBody)[RAW_BODY] ?? EMPTY;
}

/**
 * Reads a JSON request body in three steps, so a signature can be checked over the exact bytes
 * before anything interprets them: `readRawBody` (413 over the limit), then — after
 * authentication — `requireJson` (415) and `parseJson` (400).
 */
export function readRawBody(limitBytes: number): RequestHandler[] {
  return [
    express.raw({ type: () => true, limit: limitBytes }),
    (req, _res, next) => {
      (req as WithRawBody)[RAW_BODY] = Buffer.isBuffer(req.body) ? req.body : EMPTY;
      req.body = undefined;
      next();
    },
  ];
}

/** A body must be `application/json` in UTF-8: 415 otherwise. */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (rawBodyOf(req).length === 0) {
    next();
    return;
  }
  if (!req.is('application/json')) {
    throw new ApiError(415, 'invalid_request_error', 'unsupported_media_type', 'Send the body as application/json.');
  }
  const charset = /;\s*charset=("?)([^";]+)\1/i.exec(req.get('content-type') ?? '')?.[2];
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
    throw new ApiError(415, 'invalid_request_error', 'unsupported_encoding', 'Send the body as UTF-8 JSON.');
  }
  next();
};

/** No request of this API nests deeper than a few levels; deeper bodies are refused unread. */
const MAX_DEPTH = 16;

/** How deep `value` nests, counted without recursion (a hostile body must not exhaust the stack). */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Parses the raw body as JSON: 400 `malformed_json` when it is not JSON, 400 `body_too_deep` when
 * it nests deeper than any request of this API. No body leaves `req.body` undefined.
 */
export const parseJson: RequestHandler = (req, _res, next) => {
  const raw = rawBodyOf(req);
  if (raw.length === 0) {
    next();
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw)) as unknown;
  } catch {
    throw new ApiError(400, 'invalid_request_error', 'malformed_json', 'The request body is not valid JSON.');
  }
  if (nestingDepth(body) > MAX_DEPTH) {
    throw new ApiError(
      400,
      'invalid_request_error',
      'body_too_deep',
      `The request body nests deeper than ${MAX_DEPTH} levels.`,
    );
  }
  req.body = body;
  next();
};

/** The whole JSON pipeline for routes that are not signed. */
export function jsonBody(limitBytes: number): RequestHandler[] {
  return [...readRawBody(limitBytes), requireJson, parseJson];
}
