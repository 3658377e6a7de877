import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type RequestHandler } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { Models } from '../../db/connect.js';
import type { Logger } from '../../logger.js';
import { UndecodablePayloadError } from '../../temporal/codec.js';
import { ApiError } from '../errors.js';
import { rateLimit } from '../rate-limit.js';
import { parseOrThrow } from '../validation.js';

export interface CodecRouteOptions {
  codec: PayloadCodec;
  /** Bearer token callers must present (the keyring's `codecServerToken`); browser sessions derive from it. */
  token: string;
  /** Origins allowed by CORS: the Temporal Web UI's (`CODEC_CORS_ORIGINS`). */
  corsOrigins: readonly string[];
  /** `PUBLIC_BASE_URL`: its host is answered, and an `https` base makes the session cookie `Secure`. */
  publicBaseUrl: string;
  /** Host names answered besides loopback's and the public base URL's (`CODEC_ALLOWED_HOSTS`). */
  allowedHosts: readonly string[];
  /** Payloads one request may carry (`CODEC_MAX_PAYLOADS`). */
  maxPayloads: number;
  /** Largest request body, in bytes (`CODEC_BODY_LIMIT_BYTES`). */
  bodyLimitBytes: number;
  /** Requests one client address may make per minute (`CODEC_RATE_LIMIT_PER_MINUTE`), counted in MongoDB. */
  rateLimitPerMinute: number;
  models: Models;
  logger: Logger;
  now?: () => number;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** What `/codec/encode` and `/codec/decode` take: Temporal's JSON form of `Payloads`. */
export function codecBodySchema(maxPayloads: number) {
  return z.strictObject({
    payloads: z
      .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
      .max(maxPayloads),
  });
}

/** Payloads per request unless `CODEC_MAX_PAYLOADS` says otherwise. */
export const DEFAULT_CODEC_MAX_PAYLOADS = 64;
export const bodySchema = codecBodySchema(DEFAULT_CODEC_MAX_PAYLOADS);

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The host name a `Host` header names (`name`, `name:port`, `[v6]:port`), as WHATWG URLs
 * normalise it (lower case, IPv4 shorthands expanded); undefined when it is anything else.
 */
export function hostNameOf(host: string | undefined): string | undefined {
  if (!host || host.length > 300) return undefined;
  try {
    const url = new URL(`http://${host}`);
    const bare = !url.username && !url.password && url.pathname === '/' && !url.search && !url.hash;
    return bare && url.host === host.toLowerCase().replace(/:80$/, '') ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}

const LOOPBACK_HOST_NAMES = ['localhost', '127.0.0.1', '[::1]'];

// Browser sessions, for the Temporal Web UI: it cannot send a bearer token of ours, only cookies.

const SESSION_COOKIE = 'kp_codec_session';
const SESSION_HOURS = 12;

function sessionMac(token: string, expiresAt: number): string {
  return createHmac('sha256', token).update(`codec-session.v1.${expiresAt}`).digest('base64url');
}

/**
 * A browser session: `v1.<expiry, unix seconds>.<HMAC-SHA256 under the codec token>`. Nothing is
 * stored: replacing `codecServerToken` ends every session.
 */
export function issueCodecSession(token: string, nowMs: number): { value: string; expiresAt: Date } {
  const expiresAt = Math.floor(nowMs / 1000) + SESSION_HOURS * 3600;
  return { value: `v1.${expiresAt}.${sessionMac(token, expiresAt)}`, expiresAt: new Date(expiresAt * 1000) };
}

/** When a session cookie value is genuine and current, its expiry; otherwise undefined. */
export function verifyCodecSession(token: string, value: string, nowMs: number): Date | undefined {
  const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return undefined;
  const expiresAt = Number(match[1]);
  const nowSeconds = nowMs / 1000;
  if (expiresAt <= nowSeconds || expiresAt > nowSeconds + SESSION_HOURS * 3600 + 60) return undefined;
  return sameSecret(match[2] ?? '', sessionMac(token, expiresAt)) ? new Date(expiresAt * 1000) : undefined;
}

function sessionCookieOf(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === SESSION_COOKIE) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** At most this many times `maxPayloads` payloads wait for decryption at once; beyond, 503. */
const PENDING_REQUESTS = 4;

/**
 * The codec server the Temporal Web UI and CLI call (`<api>/codec`), so staff see decrypted
 * payloads and everyone else ciphertext: `POST /codec/decode` and `/codec/encode` take and answer
 * `{ payloads: [{ metadata, data }] }` (base64).
 *
 * Every request must name an allowed host (loopback, the public base URL's, `allowedHosts`), so
 * a page that rebinds its own DNS name to this machine is refused; an `Origin`, when sent, must be
 * one of `corsOrigins`. Callers prove who they are with the bearer token (the CLI:
 * `--codec-auth 'Bearer <token>'`), or, from the Web UI, with a session cookie a browser gets by
 * entering the token at `GET /codec/session`; the socket address counts for nothing. Authenticated
 * callers are rate limited per client address; a request carries at most `maxPayloads` payloads
 * and `bodyLimitBytes` bytes, and when more payloads already wait for decryption than the codec
 * works through quickly, a request is refused with 503 `codec_busy` and `Retry-After`.
 */
export function codecRoutes(options: CodecRouteOptions): Router {
  const { codec, token, corsOrigins, maxPayloads, bodyLimitBytes, logger, now = Date.now } = options;
  const router = Router();
  const publicBase = new URL(options.publicBaseUrl);
  const hostNames = new Set(
    [...LOOPBACK_HOST_NAMES, publicBase.host, ...options.allowedHosts]
      .map((host) => hostNameOf(host.trim().toLowerCase()))
      .filter((name): name is string => name !== undefined),
  );
  const schema = codecBodySchema(maxPayloads);
  const maxPending = PENDING_REQUESTS * maxPayloads;
  let pendingPayloads = 0;

  const allowedHost: RequestHandler = (req, _res, next) => {
    const name = hostNameOf(req.headers.host);
    if (name !== undefined && hostNames.has(name)) {
      next();
      return;
    }
    next(new ApiError(403, 'permission_error', 'host_not_allowed', 'The Host header names no host this API serves.'));
  };
  /** Browsers send `Origin` on every cross-origin request and every POST; the CLI sends none. */
  const allowedOrigin: RequestHandler = (req, res, next) => {
    const origin = req.get('origin');
    const sameOrigin = origin !== undefined && req.path === '/session' && isSameOrigin(origin, req);
    if (origin === undefined || corsOrigins.includes(origin) || sameOrigin) {
      if (origin !== undefined && !sameOrigin) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
        res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      }
      res.setHeader('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.status(204).end();
        return;
      }
      next();
      return;
    }
    next(
      new ApiError(
        403,
        'permission_error',
        'origin_not_allowed',
        'This Origin may not call the codec server (CODEC_CORS_ORIGINS).',
      ),
    );
  };
  /** The bearer token, or a session cookie sent by the Web UI (an allowed `Origin`, checked above). */
  const authenticate: RequestHandler = (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const bearer = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    const session = req.get('origin') === undefined ? undefined : sessionCookieOf(req);
    if (
      (bearer && sameSecret(bearer, token)) ||
      (session !== undefined && verifyCodecSession(token, session, now()) !== undefined)
    ) {
      next();
      return;
    }
    next(
      new ApiError(
        401,
        'authentication_error',
        'codec_unauthorized',
        'The codec server needs its bearer token, or the session cookie of GET /codec/session sent by the Temporal Web UI.',
      ),
    );
  };
  const perClient = rateLimit({
    models: options.models,
    scope: 'codec',
    limitPerMinute: options.rateLimitPerMinute,
    callerOf: (req) => req.ip ?? req.socket.remoteAddress ?? 'unknown',
    now,
  });
  const encodePayloads: RequestHandler = async (req, res) => {
    const { payloads } = parseOrThrow(schema, req.body);
    const result = await codec.encode(payloads.map(fromJson));
    res.json({ payloads: result.map(toJson) });
  };
  const decodePayloads: RequestHandler = async (req, res) => {
    const { payloads } = parseOrThrow(schema, req.body);
    if (pendingPayloads + payloads.length > maxPending) {
      res.setHeader('Retry-After', '1');
      throw new ApiError(
        503,
        'service_unavailable_error',
        'codec_busy',
        'The codec server is busy decrypting; retry in a second.',
      );
    }
    pendingPayloads += payloads.length;
    try {
      const result = await codec.decode(payloads.map(fromJson));
      res.json({ payloads: result.map(toJson) });
    } catch (err) {
      if (!(err instanceof UndecodablePayloadError)) throw err;
      logger.warn(
        { requestId: res.locals.requestId, payload: err.index, reason: err.reason },
        'codec: undecodable payload',
      );
      const param = `payloads.${err.index}`;
      throw new ApiError(
        422,
        'validation_error',
        'invalid_parameter',
        `${param}: cannot be decrypted (damaged, or encrypted under a codec key this keyring does not hold).`,
        param,
      );
    } finally {
      pendingPayloads -= payloads.length;
    }
  };

  const sessionPage: RequestHandler = (req, res) => {
    const session = sessionCookieOf(req);
    const until = session === undefined ? undefined : verifyCodecSession(token, session, now());
    res.setHeader('Cache-Control', 'no-store');
    // The form's POST must carry this page's origin: under `no-referrer` browsers send `Origin: null`.
    res.setHeader('Referrer-Policy', 'same-origin');
    res.type('html').send(sessionHtml(new URL(`${options.publicBaseUrl}${req.baseUrl}`).href, corsOrigins, until));
  };
  const startSession: RequestHandler = (req, res) => {
    if (!req.is('application/x-www-form-urlencoded')) {
      throw new ApiError(415, 'invalid_request_error', 'unsupported_media_type', 'Send the form as urlencoded.');
    }
    const given = (req.body as Record<string, unknown> | undefined)?.token;
    if (typeof given !== 'string' || !sameSecret(given.trim(), token)) {
      throw new ApiError(401, 'authentication_error', 'codec_unauthorized', 'That is not the codec server token.');
    }
    const { value, expiresAt } = issueCodecSession(token, now());
    res.cookie(SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: publicBase.protocol === 'https:',
      path: req.baseUrl || '/',
      expires: expiresAt,
      encode: String,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, `${req.baseUrl}/session`);
  };

  router.use(allowedHost, allowedOrigin);
  router.post('/encode', authenticate, perClient, express.json({ limit: bodyLimitBytes }), encodePayloads);
  router.post('/decode', authenticate, perClient, express.json({ limit: bodyLimitBytes }), decodePayloads);
  router.get('/session', sessionPage);
  router.post('/session', perClient, express.urlencoded({ extended: false, limit: 4096 }), startSession);
  return router;
}

function isSameOrigin(origin: string, req: Request): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === req.headers.host?.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * The page where a person enters the codec token once, so the Web UI in this browser may decode
 * (a cookie for the codec paths, `SameSite=Strict`, `HttpOnly`). Every value shown is a URL as
 * the URL parser serialises it or a date, so nothing in it needs escaping. No scripts.
 */
function sessionHtml(endpoint: string, uiOrigins: readonly string[], until: Date | undefined): string {
  const ui = uiOrigins.flatMap((origin) => {
    try {
      return [new URL(origin).origin];
    } catch {
      return [];
    }
  });
  const status = until
    ? `<p class="ok">This browser may decode Temporal history until ${until.toISOString()}.</p>`
    : '<p>This browser has no codec session.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Codec server session</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}.ok{color:#1a7f37}code{background:#f3f3f3;padding:0 .2rem}</style>
</head><body>
<h1>Codec server session</h1>
${status}
<form method="post" action="session">
<label>Codec server token (<code>codecServerToken</code> in the keyring)<br>
<input type="password" name="token" autocomplete="off" required size="48"></label>
<button type="submit">Start a ${SESSION_HOURS}-hour session</button>
</form>
<h2>Then, in the Temporal Web UI</h2>
<ol>
<li>Open the UI at ${ui.length > 0 ? ui.map((o) => `<code>${o}</code>`).join(' or ') : 'one of CODEC_CORS_ORIGINS'}, on the same host name as this page (the cookie is sent to the same site only).</li>
<li>Open the codec server settings, choose to use this browser's setting, enter the endpoint <code>${endpoint}</code> and tick <em>Include cross-origin credentials</em>.</li>
</ol>
</body></html>
`;
}
