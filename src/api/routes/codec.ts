import { timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type RequestHandler } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseOrThrow } from '../validation.js';

export interface CodecRouteOptions {
  codec: PayloadCodec;
  /** Bearer token callers must present (the keyring's `codecServerToken`). */
  token: string;
  /** Development only: callers on this machine need no token. */
  allowLoopback: boolean;
  /** Origins allowed by CORS: the Temporal Web UI's. */
  corsOrigins: readonly string[];
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
export const bodySchema = z.strictObject({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .max(1_000),
});

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

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function isLoopback(req: Request): boolean {
  return LOOPBACK.has(req.socket.remoteAddress ?? '');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The codec server the Temporal Web UI calls (`--ui-codec-endpoint <api>/codec`), so staff see
 * decrypted payloads and everyone else ciphertext: `POST /codec/decode` and `/codec/encode` take
 * and answer `{ payloads: [{ metadata, data }] }` (base64). Callers need the bearer token, except
 * callers on this machine when `allowLoopback` is on (development). CORS admits only the UI.
 */
export function codecRoutes({ codec, token, allowLoopback, corsOrigins }: CodecRouteOptions): Router {
  const router = Router();
  const cors: RequestHandler = (req, res, next) => {
    const origin = req.get('origin');
    if (origin && corsOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
  const authenticate: RequestHandler = (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const bearer = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if ((bearer && sameToken(bearer, token)) || (allowLoopback && isLoopback(req))) {
      next();
      return;
    }
    next(
      new ApiError(401, 'authentication_error', 'codec_unauthorized', 'The codec server needs a valid bearer token.'),
    );
  };
  const handler =
    (operation: 'encode' | 'decode'): RequestHandler =>
    async (req, res) => {
      const { payloads } = parseOrThrow(bodySchema, req.body);
      const result = await codec[operation](payloads.map(fromJson));
      res.json({ payloads: result.map(toJson) });
    };
  router.use(cors);
  router.post('/encode', authenticate, express.json({ limit: '4mb' }), handler('encode'));
  router.post('/decode', authenticate, express.json({ limit: '4mb' }), handler('decode'));
  return router;
}
