import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { keysDirSchema, parseEnv } from '../config.js';
import { devPlatformKeyPath, loadDevPlatformKey } from '../crypto/platform-keys.js';
import { PlatformClient } from './index.js';

/**
 * `npm run platform -- <METHOD> <path> [body | @file] [--idempotency-key K] [--url URL]`
 *
 * Signs and sends one request as a platform backend would, and prints the answer. The key comes
 * from PLATFORM_KEY_ID and PLATFORM_KEY_SECRET, or else the development key of `npm start`
 * (KEYS_DIR, default .data/dev/keys). The URL from --url, PLATFORM_API_URL, or http://127.0.0.1:3000.
 */
const USAGE = `usage: npm run platform -- <METHOD> <path> [json-body | @file.json] [--idempotency-key K] [--url URL]
  e.g.  npm run platform -- GET /v1/payments/pay_...
        npm run platform -- POST /v1/payments @order.json
  key:  PLATFORM_KEY_ID + PLATFORM_KEY_SECRET, else the development key in KEYS_DIR (default .data/dev/keys)`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { 'idempotency-key': { type: 'string' }, url: { type: 'string' }, help: { type: 'boolean' } },
    });
  } catch (err) {
    return fail((err as Error).message);
  }
})();
if (values.help) fail('');
const [method, path, bodyArg] = positionals;
if (!method || !path || !path.startsWith('/')) fail('a METHOD and a path starting with / are required');

let body: string | undefined;
if (bodyArg !== undefined) {
  try {
    body = bodyArg.startsWith('@') ? readFileSync(bodyArg.slice(1), 'utf8') : bodyArg;
  } catch (err) {
    fail(`cannot read ${bodyArg.slice(1)}: ${(err as Error).message}`);
  }
}

const keysDir = parseEnv(keysDirSchema, process.env).KEYS_DIR;
const { PLATFORM_KEY_ID: envKeyId, PLATFORM_KEY_SECRET: envSecret } = process.env;
if ((envKeyId === undefined) !== (envSecret === undefined)) fail('set both PLATFORM_KEY_ID and PLATFORM_KEY_SECRET');
const key = (() => {
  if (envKeyId && envSecret) return { keyId: envKeyId, secret: envSecret };
  try {
    return loadDevPlatformKey(keysDir);
  } catch (err) {
    console.error((err as Error).message);
    return process.exit(2);
  }
})();
const baseUrl = values.url ?? process.env.PLATFORM_API_URL ?? 'http://127.0.0.1:3000';

const client = new PlatformClient({ baseUrl, ...key, maxRetries: 0 });
try {
  const res = await client.send(method, path, {
    ...(body === undefined ? {} : { body }),
    ...(values['idempotency-key'] ? { idempotencyKey: values['idempotency-key'] } : {}),
  });
  console.error(`HTTP ${res.status} (key ${key.keyId}${envKeyId ? '' : ` from ${devPlatformKeyPath(keysDir)}`})`);
  console.log(typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2));
  process.exit(res.status < 400 ? 0 : 1);
} catch (err) {
  console.error(`cannot reach the API at ${baseUrl}: ${(err as Error).message}. Is it running (npm start)?`);
  process.exit(1);
}
