import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parsePlatformKeys } from '../../src/crypto/platform-keys.js';

/** One install serves one platform: `PLATFORM_ID`, and `PLATFORM_KEYS` holds that platform's keys only. */
const secret = (fill: string) => fill.repeat(40);

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('the platform an install serves', () => {
  it('is "platform" unless PLATFORM_ID names it, and plain keys belong to it', () => {
    const config = loadConfig({ PLATFORM_KEYS: `orders:${secret('a')},support:${secret('b')}` });
    expect(config.PLATFORM_ID).toBe('platform');
    expect(config.PLATFORM_KEYS).toEqual([
      { keyId: 'orders', secret: secret('a') },
      { keyId: 'support', secret: secret('b') },
    ]);
  });

  it("accepts keys that name the install's own platform, and signs with the key id alone", () => {
    const config = loadConfig({
      PLATFORM_ID: 'acme-academy',
      PLATFORM_KEYS: `acme-academy/orders:${secret('a')},support:${secret('b')}`,
    });
    expect(config.PLATFORM_ID).toBe('acme-academy');
    expect(config.PLATFORM_KEYS?.map((k) => k.keyId)).toEqual(['orders', 'support']);
  });

  it('keeps a secret that contains slashes and colons whole', () => {
    const odd = `s/${secret('c')}:x/y`;
    expect(loadConfig({ PLATFORM_KEYS: `platform/orders:${odd}` }).PLATFORM_KEYS).toEqual([
      { keyId: 'orders', secret: odd },
    ]);
  });

  it('refuses at boot a key that names another platform, saying what to do and never echoing a secret', () => {
    const err = configError({
      PLATFORM_ID: 'acme-academy',
      PLATFORM_KEYS: `acme-academy/orders:${secret('a')},globex/billing:${secret('z')}`,
    });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatch(/^PLATFORM_KEYS: key billing belongs to platform globex/);
    expect(err.message).toContain('PLATFORM_ID=acme-academy');
    expect(err.message).toMatch(
      /separate install for globex \(its own database, Temporal namespace and task queue, and keyring\)/,
    );
    expect(err.message).not.toContain(secret('z'));
    expect(err.message).not.toContain(secret('a'));
  });

  it('refuses a named platform key under the default PLATFORM_ID too', () => {
    expect(configError({ PLATFORM_KEYS: `globex/billing:${secret('z')}` }).issues[0]).toMatch(
      /belongs to platform globex, but this install serves PLATFORM_ID=platform/,
    );
  });

  it('names every key of another platform at once', () => {
    const { problems } = parsePlatformKeys(`a/one:${secret('a')},b/two:${secret('b')},mine:${secret('c')}`, 'mine');
    expect(problems.map((p) => /key (\S+) belongs/.exec(p)?.[1])).toEqual(['one', 'two']);
  });

  it.each([
    ['a malformed PLATFORM_ID', { PLATFORM_ID: 'acme academy' }, /PLATFORM_ID/],
    ['a platform id with a bad character', { PLATFORM_KEYS: `ac me/orders:${secret('a')}` }, /PLATFORM_KEYS/],
    ['an empty platform id', { PLATFORM_KEYS: `/orders:${secret('a')}` }, /PLATFORM_KEYS/],
    ['two platform prefixes', { PLATFORM_KEYS: `a/b/orders:${secret('a')}` }, /PLATFORM_KEYS/],
    [
      'a key id used twice across platforms',
      { PLATFORM_KEYS: `orders:${secret('a')},platform/orders:${secret('b')}` },
      /appears twice/,
    ],
  ])('refuses %s', (_case, env, message) => {
    expect(configError(env).message).toMatch(message);
  });
});
