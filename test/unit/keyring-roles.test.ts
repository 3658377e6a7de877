import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  channelPrivateKeysIn,
  generateKeyring,
  keyringFor,
  keyringPath,
  type CompleteKeyring,
  type Keyring,
} from '../../src/crypto/keyring.js';

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A keys folder holding `keyring` as keyring.json, as a secret store would mount it. */
function mounted(keyring: Keyring): string {
  const dir = mkdtempSync(join(tmpdir(), 'kp-keys-'));
  folders.push(dir);
  writeFileSync(keyringPath(dir), JSON.stringify(keyring), { mode: 0o600 });
  return dir;
}

/** A development keyring, as the sandbox generates it (generated once: RSA keys take a while). */
const development = generateKeyring();

/** What a production keyring holds: the providers' public keys only, no simulator keys. */
function productionKeyring(): CompleteKeyring {
  const keyring = structuredClone(development);
  const { alipayPrivateKey: _alipayPrivateKey, ...alipay } = keyring.alipay;
  const platformKeys = keyring.wechatpay.platformKeys.map(({ serial, publicKey }) => ({ serial, publicKey }));
  const { signingPrivateKey: _signingKey, signingCertificate: _signingCert, ...unionpay } = keyring.unionpay!;
  const { signingPrivateKey: _paypalKey, signingCertificates: _paypalCerts, ...paypal } = keyring.paypal!;
  return { ...keyring, alipay, wechatpay: { ...keyring.wechatpay, platformKeys }, unionpay, paypal };
}

describe('the keyring, with the sandbox off', () => {
  const off = (dir: string) => ({ KEYS_DIR: dir, SANDBOX_ENABLED: false });

  it.each(['api', 'worker', undefined] as const)(
    'is refused at start (%s) when it carries the channel simulators’ private keys, naming them but no key',
    (role) => {
      const dir = mounted(development);
      let message = '';
      try {
        if (role === 'api') keyringFor(off(dir), role);
        else if (role === 'worker') keyringFor(off(dir), role);
        else keyringFor(off(dir));
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/channel simulators' private keys/);
      expect(message).toContain('alipay.alipayPrivateKey');
      expect(message).toContain('wechatpay.platformKeys[0].privateKey');
      expect(message).toContain('unionpay.signingPrivateKey');
      expect(message).toContain('paypal.signingPrivateKey');
      expect(message).toMatch(/SANDBOX_ENABLED/);
      expect(message).not.toContain('BEGIN');
    },
  );

  it('is refused when only the WeChat Pay platform key carries its private half', () => {
    const keyring = productionKeyring();
    const rotated = { ...development.wechatpay.platformKeys[0]!, serial: 'PUB_KEY_ID_NEXT' };
    keyring.wechatpay.platformKeys = [keyring.wechatpay.platformKeys[0]!, rotated];
    expect(() => keyringFor(off(mounted(keyring)), 'api')).toThrow(/wechatpay\.platformKeys\[1\]\.privateKey/);
  });

  it('gives the API what it verifies with, and no key that signs a voucher or plays a channel', () => {
    const keyring = productionKeyring();
    const api = keyringFor(off(mounted(keyring)), 'api');
    expect(api.vouchers.keys.every((k) => k.privateKey === undefined)).toBe(true);
    expect(api.vouchers.keys.map((k) => k.publicKey)).toEqual(keyring.vouchers.keys.map((k) => k.publicKey));
    expect(channelPrivateKeysIn(api)).toEqual([]);
    expect(api.alipay.alipayPublicKey).toBe(keyring.alipay.alipayPublicKey);
    expect(api.wechatpay.apiV3Key).toBe(keyring.wechatpay.apiV3Key);
    expect(api.temporalCodec).toEqual(keyring.temporalCodec);
    expect(api.codecServerToken).toBe(keyring.codecServerToken);
    expect(api.paymentIdKey).toBe(keyring.paymentIdKey);
    // PayPal: what verifies webhooks, never the client secret that calls PayPal.
    expect(api.paypal).toEqual({
      clientId: keyring.paypal!.clientId,
      webhookId: keyring.paypal!.webhookId,
      rootCertificate: keyring.paypal!.rootCertificate,
      signerCommonName: keyring.paypal!.signerCommonName,
    });
    expect(api.workflowMessageKey).toBe(keyring.workflowMessageKey);
    expect(api.atRest).toEqual(keyring.atRest);
    // It never calls a channel, and the platform stub that verifies webhooks runs in the sandbox.
    expect(api.alipay.merchantPrivateKey).toBeUndefined();
    expect(api.wechatpay.merchantPrivateKey).toBeUndefined();
    expect(api.unionpay && 'merchantPrivateKey' in api.unionpay).toBe(false);
    expect(api.unionpay?.rootCertificate).toBe(keyring.unionpay?.rootCertificate);
    expect(api.card).toEqual({ accountId: keyring.card?.accountId, webhookSecret: keyring.card?.webhookSecret });
    expect('platformWebhookSecret' in api).toBe(false);
  });

  it('gives the worker what it signs and calls with, and not the payment id key', () => {
    const keyring = productionKeyring();
    const worker = keyringFor(off(mounted(keyring)), 'worker');
    expect(worker.vouchers).toEqual(keyring.vouchers);
    expect(worker.platformWebhookSecret).toBe(keyring.platformWebhookSecret);
    expect(worker.alipay.merchantPrivateKey).toBe(keyring.alipay.merchantPrivateKey);
    expect(worker.wechatpay.merchantPrivateKey).toBe(keyring.wechatpay.merchantPrivateKey);
    expect(worker.unionpay?.merchantPrivateKey).toBe(keyring.unionpay?.merchantPrivateKey);
    expect(worker.card?.secretKey).toBe(keyring.card?.secretKey);
    expect(worker.paypal?.clientSecret).toBe(keyring.paypal?.clientSecret);
    expect(worker.temporalCodec).toEqual(keyring.temporalCodec);
    expect(worker.atRest).toEqual(keyring.atRest);
    expect(worker.workflowMessageKey).toBe(keyring.workflowMessageKey);
    expect('paymentIdKey' in worker).toBe(false);
    expect(channelPrivateKeysIn(worker)).toEqual([]);
  });
});

describe('the keyring, with the sandbox on', () => {
  const on = (dir: string) => ({ KEYS_DIR: dir, SANDBOX_ENABLED: true });

  it('gives a keyring written before UnionPay a UnionPay section of its own, the same in every process', () => {
    const { unionpay: _unionpay, ...older } = development;
    const dir = mounted(older);
    const api = keyringFor(on(dir), 'api');
    const sandbox = keyringFor(on(dir), 'sandbox');
    expect(api.unionpay?.rootCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(sandbox.unionpay?.rootCertificate).toBe(api.unionpay?.rootCertificate);
    expect(sandbox.unionpay?.signingPrivateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(api.unionpay && 'signingPrivateKey' in api.unionpay).toBe(false);
  });

  it('keeps the simulators’ private keys in the sandbox process only', () => {
    const dir = mounted(development);
    const api = keyringFor(on(dir), 'api');
    const worker = keyringFor(on(dir), 'worker');
    expect(channelPrivateKeysIn(api)).toEqual([]);
    expect(channelPrivateKeysIn(worker)).toEqual([]);
    expect('platformWebhookSecret' in api).toBe(false);
    expect(api.vouchers.keys.every((k) => k.privateKey === undefined)).toBe(true);
    expect(worker.vouchers.keys.every((k) => k.privateKey !== undefined)).toBe(true);

    const sandbox = keyringFor(on(dir), 'sandbox');
    expect(sandbox.alipay.alipayPrivateKey).toBe(development.alipay.alipayPrivateKey);
    expect(sandbox.wechatpay.platformKeys[0]?.privateKey).toBe(development.wechatpay.platformKeys[0]?.privateKey);
    expect(sandbox.platformWebhookSecret).toBe(development.platformWebhookSecret);
  });

  it('gives the sandbox nothing of the payment system’s own keys', () => {
    const sandbox = keyringFor(on(mounted(development)), 'sandbox');
    expect(Object.keys(sandbox).sort()).toEqual([
      'alipay',
      'card',
      'paypal',
      'platformWebhookSecret',
      'unionpay',
      'wechatpay',
    ]);
    expect(sandbox.paypal?.signingPrivateKey).toBe(development.paypal?.signingPrivateKey);
    expect('merchantPrivateKey' in sandbox.alipay).toBe(false);
    expect(sandbox.unionpay && 'merchantPrivateKey' in sandbox.unionpay).toBe(false);
    expect(sandbox.unionpay?.signingPrivateKey).toBe(development.unionpay?.signingPrivateKey);
    expect('merchantPrivateKey' in sandbox.wechatpay).toBe(false);
    expect(sandbox.alipay.merchantPublicKey).toBe(development.alipay.merchantPublicKey);
  });
});
