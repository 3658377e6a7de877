import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, sandboxDatabaseUri } from '../../src/config.js';
import { loadProvisionSettings } from '../../src/provision/settings.js';

describe('loadConfig', () => {
  it('gives every variable its documented default when the environment is empty', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      API_HOST: '127.0.0.1',
      API_PORT: 3000,
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'payments',
      MONGODB_URI: 'mongodb://127.0.0.1:27017/knowledge_pay',
      WORKER_SHUTDOWN_GRACE_SECONDS: 30,
      PAYMENT_MAX_AMOUNT: 100_000_000,
    });
    expect(config.WORKFLOW_BUNDLE_PATH).toBeUndefined();
  });

  it('coerces numbers from strings', () => {
    expect(loadConfig({ API_PORT: '8080' }).API_PORT).toBe(8080);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ API_PORT: '' }).API_PORT).toBe(3000);
  });

  it.each([
    ['API_PORT', '70000'],
    ['API_PORT', 'three thousand'],
    ['NODE_ENV', 'staging'],
    ['TEMPORAL_ADDRESS', 'no-port-here'],
    ['MONGODB_URI', 'postgres://db/payments'],
    ['LOG_LEVEL', 'loud'],
    ['WORKER_SHUTDOWN_GRACE_SECONDS', '-1'],
  ])('stops on a bad %s and names it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ API_PORT: '0', NODE_ENV: 'x' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.split(':')[0]).sort()).toEqual(['API_PORT', 'NODE_ENV']);
    }
  });

  it('never echoes a bad value back, since it may be a secret', () => {
    const secret = 'mongodb-but-not://user:hunter2@db';
    expect(() => loadConfig({ MONGODB_URI: secret })).toThrow(/MONGODB_URI/);
    try {
      loadConfig({ MONGODB_URI: secret });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('loadProvisionSettings', () => {
  it('puts dev and test on different ports and data folders so both can run at once', () => {
    const dev = loadProvisionSettings('dev', {});
    const test = loadProvisionSettings('test', {});
    expect([dev.temporalPort, dev.temporalUiPort, dev.mongodbPort]).toEqual([7233, 8233, 27017]);
    expect(test.temporalPort).not.toBe(dev.temporalPort);
    expect(test.mongodbPort).not.toBe(dev.mongodbPort);
    expect(test.dataDir).not.toBe(dev.dataDir);
    expect(dev.persistent).toBe(true);
    expect(test.persistent).toBe(false);
  });

  it('uses a given TEMPORAL_ADDRESS and MONGODB_URI instead of starting servers', () => {
    const s = loadProvisionSettings('dev', { TEMPORAL_ADDRESS: 'temporal:7233', MONGODB_URI: 'mongodb://db:27017/kp' });
    expect(s.temporalAddress).toBe('temporal:7233');
    expect(s.mongodbUri).toBe('mongodb://db:27017/kp');
  });

  it('rejects a bad STARTUP_TIMEOUT_SECONDS by name', () => {
    expect(() => loadProvisionSettings('dev', { STARTUP_TIMEOUT_SECONDS: '1' })).toThrow(/STARTUP_TIMEOUT_SECONDS/);
  });
});

describe('channel adapters', () => {
  it('need the base URL of every enabled channel once the sandbox is off, and not of a disabled one', async () => {
    const { createChannelAdapters } = await import('../../src/channels/index.js');
    const { generateKeyring } = await import('../../src/crypto/keyring.js');
    const production = {
      NODE_ENV: 'production',
      PLATFORM_WEBHOOK_URL: 'https://platform.example/webhooks',
      ALIPAY_GATEWAY_URL: 'https://openapi.alipay.com/gateway.do',
      CHANNELS_ENABLED: 'alipay',
      PLATFORM_KEYS: `shop:${'s'.repeat(32)}`,
    };
    const keyring = generateKeyring();
    const adapters = createChannelAdapters(loadConfig(production), keyring);
    expect(adapters.alipay.supports('CNY', 100)).toBe(true);
    expect(() => loadConfig({ ...production, CHANNELS_ENABLED: 'alipay,wechatpay' })).toThrow(/WECHATPAY_BASE_URL/);
  });

  it('default to every channel with the sandbox on, and to Alipay and WeChat Pay with it off', () => {
    expect(loadConfig({}).CHANNELS_ENABLED).toBe('alipay,wechatpay,unionpay,card,paypal');
    const production = {
      NODE_ENV: 'production',
      PLATFORM_WEBHOOK_URL: 'https://platform.example/webhooks',
      ALIPAY_GATEWAY_URL: 'https://openapi.alipay.com/gateway.do',
      WECHATPAY_BASE_URL: 'https://api.mch.weixin.qq.com',
      PLATFORM_KEYS: `shop:${'s'.repeat(32)}`,
    };
    expect(loadConfig(production).CHANNELS_ENABLED).toBe('alipay,wechatpay');
  });
});

describe('PLATFORM_KEYS', () => {
  const secret = 'k'.repeat(40);
  it('parses several keys, so one can rotate while the other still works', () => {
    const config = loadConfig({ PLATFORM_KEYS: `shop-2025:${secret},shop-2026:${secret}x` });
    expect(config.PLATFORM_KEYS).toEqual([
      { keyId: 'shop-2025', secret },
      { keyId: 'shop-2026', secret: `${secret}x` },
    ]);
  });

  it('is required once the sandbox is off', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        PLATFORM_WEBHOOK_URL: 'https://platform.example/webhooks',
        ALIPAY_GATEWAY_URL: 'https://openapi.alipay.com/gateway.do',
        CHANNELS_ENABLED: 'alipay',
      }),
    ).toThrow(/PLATFORM_KEYS: required when the sandbox is off/);
  });

  it.each([
    ['a short secret', 'shop:short'],
    ['no secret', 'shop'],
    ['a key id twice', `shop:${secret},shop:${secret}`],
    ['a space in the key id', `my shop:${secret}`],
  ])('refuses %s, without echoing the secret', (_what, value) => {
    let message = '';
    try {
      loadConfig({ PLATFORM_KEYS: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/PLATFORM_KEYS/);
    expect(message).not.toContain(secret);
  });
});

describe('the sandbox process', () => {
  it('listens beside the API and keeps its books in a database of its own', () => {
    const config = loadConfig({ NODE_ENV: 'development', API_PORT: '4100', MONGODB_URI: 'mongodb://db:27017/kp' });
    expect(config.SANDBOX_PORT).toBe(4101);
    expect(config.SANDBOX_URL).toBe('http://127.0.0.1:4101');
    expect(config.SANDBOX_MONGODB_URI).toBe('mongodb://db:27017/kp_sandbox');
    // The worker calls the simulated channels and the platform stub there, never through the API.
    expect(config.ALIPAY_GATEWAY_URL).toBe('http://127.0.0.1:4101/sandbox/alipay/gateway.do');
    expect(config.PLATFORM_WEBHOOK_URL).toBe('http://127.0.0.1:4101/sandbox/platform/webhooks');
  });

  it.each([
    ['mongodb://127.0.0.1:27017/knowledge_pay', 'mongodb://127.0.0.1:27017/knowledge_pay_sandbox'],
    ['mongodb://h', 'mongodb://h/knowledge_pay_sandbox'],
    ['mongodb://u:p@h:1/kp?replicaSet=rs0', 'mongodb://u:p@h:1/kp_sandbox?replicaSet=rs0&authSource=kp'],
    ['mongodb+srv://u:p@c.example/db?authSource=x', 'mongodb+srv://u:p@c.example/db_sandbox?authSource=x'],
  ])('derives its database from %s', (uri, expected) => {
    expect(sandboxDatabaseUri(uri)).toBe(expected);
  });
});
