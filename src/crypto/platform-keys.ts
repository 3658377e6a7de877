import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { KEY_ID_PATTERN, type PlatformKey } from './request-signing.js';
import { publishOnce } from './keyring.js';

const devKeySchema = z.object({
  keyId: z.string().regex(KEY_ID_PATTERN),
  secret: z.string().min(32),
});

export function devPlatformKeyPath(keysDir: string): string {
  return join(keysDir, 'platform-key.json');
}

/** Reads the development key; an error that says what to do when there is none yet. */
export function loadDevPlatformKey(keysDir: string): PlatformKey {
  const path = devPlatformKeyPath(keysDir);
  if (!existsSync(path)) {
    throw new Error(
      `no development platform key at ${path}: start the system once with \`npm start\` (it creates one), point KEYS_DIR at its keys folder, or set PLATFORM_KEY_ID and PLATFORM_KEY_SECRET`,
    );
  }
  const parsed = devKeySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is malformed: delete it to generate a new development key`);
  return parsed.data;
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
  return loadDevPlatformKey(keysDir);
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
