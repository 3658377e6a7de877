import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { KEY_ID_PATTERN, type PlatformKey } from '../client/signing.js';
import { publishOnce } from './keyring.js';

const devKeySchema = z.object({
  keyId: z.string().regex(KEY_ID_PATTERN),
  secret: z.string().min(32),
});

export function devPlatformKeyPath(keysDir: string): string {
  return join(keysDir, 'platform-key.json');
}

/**
 * The development platform key under `KEYS_DIR` (generated on first use): what `npm start`,
 * the CLI and the benchmark sign with when no `PLATFORM_KEYS` is given.
 */
export function loadOrCreateDevPlatformKey(keysDir: string): PlatformKey {
  const path = devPlatformKeyPath(keysDir);
  publishOnce(path, () =>
    JSON.stringify(
      { keyId: `dev_${randomBytes(4).toString('hex')}`, secret: `psk_${randomBytes(32).toString('base64url')}` },
      null,
      2,
    ),
  );
  const parsed = devKeySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is malformed: delete it to generate a new development key`);
  return parsed.data;
}

/**
 * The keys the API accepts platform requests under: `PLATFORM_KEYS`, or with the sandbox on and
 * none given, the development key.
 */
export function platformKeysFor(config: {
  PLATFORM_KEYS: PlatformKey[] | undefined;
  SANDBOX_ENABLED: boolean;
  KEYS_DIR: string;
}): PlatformKey[] {
  if (config.PLATFORM_KEYS) return config.PLATFORM_KEYS;
  if (config.SANDBOX_ENABLED) return [loadOrCreateDevPlatformKey(config.KEYS_DIR)];
  throw new Error('PLATFORM_KEYS is required when the sandbox is off');
}
