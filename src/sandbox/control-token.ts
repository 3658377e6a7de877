import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestHandler } from 'express';
import { ApiError } from '../api/errors.js';
import { publishOnce } from '../crypto/keyring.js';

const TOKEN = /^[\x21-\x7e]{32,256}$/;
const BEARER = /^Bearer +(\S+) *$/i;

/** Where a development sandbox control token is kept: beside the development platform key. */
export function sandboxControlTokenPath(keysDir: string): string {
  return join(keysDir, 'sandbox-control.token');
}

/**
 * The development sandbox control token under `keysDir`, generated on first use (mode 0600; safe
 * when several processes start at once): what `npm start`, the benchmark and a developer's curl
 * send when no `SANDBOX_CONTROL_TOKEN` is given.
 */
export function loadOrCreateSandboxControlToken(keysDir: string): string {
  const path = sandboxControlTokenPath(keysDir);
  publishOnce(path, () => `sct_${randomBytes(32).toString('base64url')}\n`);
  const token = readFileSync(path, 'utf8').trim();
  if (!TOKEN.test(token)) throw new Error(`${path} is malformed: delete it to generate a new sandbox control token`);
  return token;
}

/**
 * The token the sandbox control API accepts: `SANDBOX_CONTROL_TOKEN`, or outside production the
 * development token under `KEYS_DIR`. Production never generates one (the configuration requires it).
 */
export function sandboxControlTokenFor(config: {
  SANDBOX_CONTROL_TOKEN?: string | undefined;
  NODE_ENV: string;
  KEYS_DIR: string;
}): string {
  if (config.SANDBOX_CONTROL_TOKEN) return config.SANDBOX_CONTROL_TOKEN;
  if (config.NODE_ENV === 'production') {
    throw new Error('SANDBOX_CONTROL_TOKEN is required when the sandbox runs in production');
  }
  return loadOrCreateSandboxControlToken(config.KEYS_DIR);
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Lets a request on only with `Authorization: Bearer <token>`; anything else answers 401 in the
 * one error shape, the same for a missing and a wrong token. Compared in constant time.
 */
export function requireSandboxControlToken(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.get('authorization');
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="sandbox"');
      throw new ApiError(
        401,
        'authentication_error',
        'authentication_required',
        'Send the sandbox control token as `Authorization: Bearer <token>`: SANDBOX_CONTROL_TOKEN, or the file the `npm start` banner names.',
      );
    }
    next();
  };
}
