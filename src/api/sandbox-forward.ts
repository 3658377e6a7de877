import { Readable } from 'node:stream';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { ApiError } from './errors.js';

/** Headers that belong to one connection (hop by hop) or are set anew for the next one. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  // undici's fetch refuses it; the body is sent whole anyway.
  'expect',
]);
/** Also not copied from the sandbox's answer: `fetch` has already decoded its body. */
const NOT_ANSWERED = new Set([...NOT_FORWARDED, 'content-encoding', 'set-cookie']);

/**
 * Forwards a request under `/sandbox` to the sandbox process at `sandboxUrl`, as it came (method,
 * path, query, headers, body bytes untouched, so signatures over them still verify), and answers
 * with what the sandbox answered. The public URLs of the sandbox (cashier pages, the control API)
 * thus stay the API's while the sandbox runs as a process of its own. A sandbox that does not
 * answer within `timeoutMs` (shorter than the API's response timeout) gives 503
 * `sandbox_unavailable`; where it listens is logged, never told to the caller.
 */
export function forwardToSandbox(sandboxUrl: string, timeoutMs: number, logger: Logger): RequestHandler {
  const base = new URL(sandboxUrl);
  return async (req, res) => {
    // Only the path and query are taken from the request: a request line in absolute form
    // (`GET http://elsewhere/sandbox/...`) must never choose the host this fetches from.
    const asked = new URL(req.originalUrl, 'http://sandbox.invalid');
    const target = new URL(base.href);
    target.pathname = `${base.pathname.replace(/\/+$/, '')}${asked.pathname}`;
    target.search = asked.search;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || NOT_FORWARDED.has(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    if (req.ip) headers.set('x-forwarded-for', req.ip);
    // The sandbox's answers (errors included) carry the id this API gave the request.
    if (typeof res.locals.requestId === 'string') headers.set('x-request-id', res.locals.requestId);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    let answer: Response;
    let body: Buffer;
    try {
      answer = await fetch(target, {
        method: req.method,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
      } as RequestInit);
      body = Buffer.from(await answer.arrayBuffer());
    } catch (err) {
      logger.warn({ err: (err as Error).message, sandboxUrl }, 'the sandbox did not answer a forwarded request');
      throw new ApiError(
        503,
        'service_unavailable_error',
        'sandbox_unavailable',
        'The sandbox process did not answer. `npm start` starts it; otherwise run `npm run start:sandbox`, or set SANDBOX_URL to where it listens.',
      );
    }
    // The response timeout may have answered already.
    if (res.headersSent) return;
    res.status(answer.status);
    answer.headers.forEach((value, name) => {
      if (!NOT_ANSWERED.has(name)) res.setHeader(name, value);
    });
    const cookies = answer.headers.getSetCookie();
    if (cookies.length > 0) res.setHeader('set-cookie', cookies);
    res.end(body);
  };
}
