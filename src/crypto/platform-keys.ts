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

/** The platform an install serves when `PLATFORM_ID` is unset. */
export const DEFAULT_PLATFORM_ID = 'platform';

const ID = '[A-Za-z0-9_.-]{1,64}';
const ENTRY = `(?:${ID}/)?${ID}:[^,\\s]{32,}`;
/**
 * `PLATFORM_KEYS`: `[<platformId>/]<keyId>:<secret>` entries separated by commas, each secret at
 * least 32 characters. An entry without a platform id belongs to `PLATFORM_ID`.
 */
export const PLATFORM_KEYS_PATTERN = new RegExp(`^${ENTRY}(?:,${ENTRY})*$`);

/**
 * The keys of a `PLATFORM_KEYS` value that matched {@link PLATFORM_KEYS_PATTERN}, and what is wrong
 * with it as configuration, one sentence per problem naming the variable (key and platform ids, never
 * secrets). One install serves one platform: a key that names another platform than `platformId` is
 * a problem, since every configured key reads and cancels every payment of the install.
 */
export function parsePlatformKeys(value: string, platformId: string): { keys: PlatformKey[]; problems: string[] } {
  const entries = value.split(',').map((entry) => {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon);
    const slash = name.indexOf('/');
    return {
      platformId: slash < 0 ? platformId : name.slice(0, slash),
      keyId: name.slice(slash + 1),
      secret: entry.slice(colon + 1),
    };
  });
  const problems: string[] = [];
  const ids = entries.map((e) => e.keyId);
  if (new Set(ids).size !== ids.length) problems.push('PLATFORM_KEYS: a key id appears twice');
  if (ids.some((id) => !KEY_ID_PATTERN.test(id))) problems.push('PLATFORM_KEYS: malformed key id');
  for (const entry of entries.filter((e) => e.platformId !== platformId)) {
    problems.push(
      `PLATFORM_KEYS: key ${entry.keyId} belongs to platform ${entry.platformId}, but this install serves PLATFORM_ID=${platformId}. ` +
        `One install serves one platform, and every key it accepts reads and cancels all of its payments: ` +
        `run a separate install for ${entry.platformId} (its own database, Temporal namespace and task queue, and keyring), ` +
        `or set PLATFORM_ID=${entry.platformId} if this install is that platform's.`,
    );
  }
  return { keys: entries.map(({ keyId, secret }) => ({ keyId, secret })), problems };
}

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
 * The keys the API accepts platform requests under, all of them the install's one platform's:
 * `PLATFORM_KEYS`, or with the sandbox on and none given, the development key.
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
