import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { certificateSerialDecimal, issueCertificate } from './certificates.js';

/**
 * Every key the system holds, in one file (`keyring.json`, mode 0600) under `KEYS_DIR`.
 * In development and tests the file is generated on first run; in production it is mounted from
 * the secret store. Private keys are PEM (PKCS#8), public keys PEM (SPKI).
 *
 * The channels' own private keys (`alipay.alipayPrivateKey`, `wechatpay.platformKeys[].privateKey`)
 * exist only for the sandbox, which plays the provider: a real deployment holds only the
 * providers' public keys, and a keyring that carries them is refused with the sandbox off. Each
 * process keeps only the keys it uses ({@link narrowKeyring}).
 */
const pem = z.string().startsWith('-----BEGIN');
const keyringSchema = z.object({
  version: z.literal(1),
  alipay: z.object({
    appId: z.string(),
    sellerId: z.string(),
    merchantPrivateKey: pem,
    merchantPublicKey: pem,
    alipayPublicKey: pem,
    alipayPrivateKey: pem.optional(),
  }),
  wechatpay: z.object({
    mchId: z.string(),
    appId: z.string(),
    merchantSerialNo: z.string(),
    merchantPrivateKey: pem,
    merchantPublicKey: pem,
    /** 32 ASCII characters: the AES-256-GCM key of notification resources. */
    apiV3Key: z.string().length(32),
    /** WeChat Pay's keys, looked up by the `Wechatpay-Serial` header; more than one during rotation. */
    platformKeys: z.array(z.object({ serial: z.string(), publicKey: pem, privateKey: pem.optional() })).min(1),
  }),
  /**
   * UnionPay's online gateway (ACP 5.1.0, RSA certificates). The merchant signs with its private
   * key and names its certificate by serial (`certId`); UnionPay's messages carry their signing
   * certificate, trusted when it chains to `rootCertificate` through `intermediateCertificate` and
   * names `signerCommonName`. `signingPrivateKey` and `signingCertificate` are the sandbox's, which
   * plays UnionPay. Optional: a deployment that does not enable UnionPay needs none of it.
   */
  unionpay: z
    .object({
      merId: z.string().regex(/^\d{15}$/),
      merchantPrivateKey: pem,
      merchantCertificate: pem,
      rootCertificate: pem,
      intermediateCertificate: pem,
      signerCommonName: z.string().min(1),
      signingCertificate: pem.optional(),
      signingPrivateKey: pem.optional(),
    })
    .optional(),
  /**
   * International cards through a Stripe-compatible processor: the secret API key the worker
   * calls it with, the webhook endpoint's signing secret the API verifies `Stripe-Signature` with,
   * and the account id the processor's objects belong to. Optional, like UnionPay's section.
   */
  card: z
    .object({
      accountId: z.string().regex(/^acct_[A-Za-z0-9]{8,}$/),
      secretKey: z.string().regex(/^sk_(test|live)_[A-Za-z0-9]{16,}$/),
      webhookSecret: z.string().regex(/^whsec_[A-Za-z0-9+/=_-]{16,}$/),
    })
    .optional(),
  /**
   * PayPal's REST API: the app's client id and secret the worker gets OAuth tokens with; the id of
   * the webhook subscription (part of what PayPal signs); and the trust the API checks a webhook's
   * signing certificate against: PayPal's root CA and the certificate's common name. The
   * certificate itself is fetched from `PAYPAL-CERT-URL` (only under `PAYPAL_CERT_URL_PREFIX`).
   * `signingPrivateKey` and `signingCertificates` (leaf and intermediate) are the sandbox's, which
   * plays PayPal. Optional, like UnionPay's section.
   */
  paypal: z
    .object({
      clientId: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/),
      clientSecret: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/),
      webhookId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
      rootCertificate: pem,
      signerCommonName: z.string().min(1),
      signingCertificates: pem.optional(),
      signingPrivateKey: pem.optional(),
    })
    .optional(),
  vouchers: z.object({
    activeKeyId: z.string(),
    keys: z
      .array(z.object({ keyId: z.string(), createdAt: z.string(), publicKey: pem, privateKey: pem.optional() }))
      .min(1),
  }),
  /** HMAC secret of the outgoing platform webhooks. */
  platformWebhookSecret: z.string().min(32),
  /**
   * RSA-OAEP master keys that wrap the data keys of encrypted workflow history (see
   * src/temporal/codec.ts); older keys stay to decode older histories.
   */
  temporalCodec: z.object({
    activeKeyId: z.string(),
    keys: z
      .array(z.object({ keyId: z.string(), createdAt: z.string(), publicKey: pem, privateKey: pem.optional() }))
      .min(1),
  }),
  /**
   * HMAC-SHA256 key (base64, 32 bytes) that the API and the workers share to seal the messages
   * they send workflows (verified notifications, refund requests, staff tickets): see
   * src/temporal/message-seal.ts. Keyrings written before it existed get one next to them
   * (`workflow-message-key`) when the sandbox is on; production keyrings must carry it.
   */
  workflowMessageKey: z.string().length(44).optional(),
  /**
   * HMAC-SHA256 key (base64, 32 bytes) of payment ids (src/payments/identity.ts). Never rotated:
   * a retried create must land on the same id. Keyrings written before it existed get one next to
   * them (`payment-id-key`) when the sandbox is on; production keyrings must carry it.
   */
  paymentIdKey: z.string().length(44).optional(),
  /** Bearer token the Temporal Web UI's codec requests must carry (see src/api/routes/codec.ts). */
  codecServerToken: z.string().min(32),
  /** AES-256 keys (base64) of personal data encrypted at rest in MongoDB (src/crypto/field-cipher.ts). */
  atRest: z.object({
    activeKeyId: z.string(),
    keys: z.array(z.object({ keyId: z.string(), createdAt: z.string(), key: z.string().length(44) })).min(1),
  }),
});

export type Keyring = z.infer<typeof keyringSchema>;

/** Keys added after the first keyrings were written: optional on disk, required in a running process. */
const LATE_KEYS = { workflowMessageKey: 'workflow-message-key', paymentIdKey: 'payment-id-key' } as const;
type LateKey = keyof typeof LATE_KEYS;

/** A keyring as processes use it: every key present. */
export type CompleteKeyring = Keyring & Required<Pick<Keyring, LateKey>>;

function rsaPair() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function ed25519Pair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A key id that names the key by its content: `prefix_` and 16 hex of SHA-256 of the public key. */
export function keyIdOf(prefix: string, publicKeyPem: string): string {
  return `${prefix}_${createHash('sha256').update(publicKeyPem).digest('hex').slice(0, 16)}`;
}

/** A fresh codec master key section (RSA 3072, OAEP). */
export function generateCodecKeys(now = new Date()): Keyring['temporalCodec'] {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const pair = {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const keyId = keyIdOf('ck', pair.publicKey);
  return { activeKeyId: keyId, keys: [{ keyId, createdAt: now.toISOString(), ...pair }] };
}

/** A root and an intermediate CA of the sandbox's own, for a channel whose messages carry certificates. */
function sandboxCertificateChain(provider: string) {
  const root = issueCertificate({
    commonName: `${provider} Sandbox Root CA`,
    organization: 'Sandbox',
    serial: '1',
    ca: true,
  });
  const intermediate = issueCertificate({
    commonName: `${provider} Sandbox Intermediate CA`,
    organization: 'Sandbox',
    serial: '2',
    ca: true,
    issuer: root,
  });
  return { root, intermediate };
}

/** The CN of the sandbox's UnionPay signing certificate. */
export const SANDBOX_UNIONPAY_SIGNER = 'UnionPay Sandbox Signing';

/**
 * A development UnionPay section: a root and an intermediate CA of the sandbox's own, the
 * sandbox's signing certificate under them, and a merchant certificate (its serial is `certId`).
 */
export function generateUnionpayKeys(): NonNullable<Keyring['unionpay']> {
  const { root, intermediate } = sandboxCertificateChain('UnionPay');
  const signer = issueCertificate({
    commonName: SANDBOX_UNIONPAY_SIGNER,
    organization: 'Sandbox',
    serial: String(69_000_000_000 + randomBytes(3).readUIntBE(0, 3)),
    ca: false,
    issuer: intermediate,
  });
  const merchant = issueCertificate({
    commonName: 'Sandbox Merchant',
    organization: 'Sandbox',
    serial: String(68_000_000_000 + randomBytes(3).readUIntBE(0, 3)),
    ca: false,
    issuer: intermediate,
  });
  return {
    merId: '777290058110048',
    merchantPrivateKey: merchant.privateKey,
    merchantCertificate: merchant.certificate,
    rootCertificate: root.certificate,
    intermediateCertificate: intermediate.certificate,
    signerCommonName: SANDBOX_UNIONPAY_SIGNER,
    signingCertificate: signer.certificate,
    signingPrivateKey: signer.privateKey,
  };
}

/** A development card section: sandbox keys in Stripe's formats. */
export function generateCardKeys(): NonNullable<Keyring['card']> {
  return {
    accountId: `acct_${randomBytes(8).toString('hex')}`,
    secretKey: `sk_test_${randomBytes(24).toString('hex')}`,
    webhookSecret: `whsec_${randomBytes(24).toString('base64url')}`,
  };
}

/** The CN of PayPal's webhook signing certificate, which the sandbox's certificate carries too. */
export const PAYPAL_SIGNER_COMMON_NAME = 'messageverificationcerts.paypal.com';

/**
 * A development PayPal section: client credentials and a webhook id in PayPal's shapes, and a
 * root and intermediate CA of the sandbox's own with its webhook signing certificate under them.
 */
export function generatePaypalKeys(): NonNullable<Keyring['paypal']> {
  const { root, intermediate } = sandboxCertificateChain('PayPal');
  const signer = issueCertificate({
    commonName: PAYPAL_SIGNER_COMMON_NAME,
    organization: 'Sandbox',
    serial: String(70_000_000_000 + randomBytes(3).readUIntBE(0, 3)),
    ca: false,
    issuer: intermediate,
  });
  return {
    clientId: `A${randomBytes(30).toString('base64url')}`,
    clientSecret: `E${randomBytes(30).toString('base64url')}`,
    webhookId: `${randomBytes(8).toString('hex').toUpperCase()}-WH`,
    rootCertificate: root.certificate,
    signerCommonName: PAYPAL_SIGNER_COMMON_NAME,
    signingCertificates: `${signer.certificate.trim()}\n${intermediate.certificate.trim()}\n`,
    signingPrivateKey: signer.privateKey,
  };
}

/** UnionPay's `certId` of the merchant certificate: its serial number in decimal. */
export function unionpayCertId(unionpay: Pick<NonNullable<Keyring['unionpay']>, 'merchantCertificate'>): string {
  return certificateSerialDecimal(unionpay.merchantCertificate);
}

/** A fresh at-rest key section (one AES-256 key). */
export function generateAtRestKeys(now = new Date()): Keyring['atRest'] {
  const key = randomBytes(32).toString('base64');
  const keyId = keyIdOf('ak', key);
  return { activeKeyId: keyId, keys: [{ keyId, createdAt: now.toISOString(), key }] };
}

export function generateKeyring(now = new Date()): CompleteKeyring {
  const alipayMerchant = rsaPair();
  const alipayPlatform = rsaPair();
  const wechatMerchant = rsaPair();
  const wechatPlatform = rsaPair();
  const voucher = ed25519Pair();
  const voucherKeyId = keyIdOf('vk', voucher.publicKey);
  return {
    version: 1,
    alipay: {
      appId: '2021000000000001',
      sellerId: '2088000000000001',
      merchantPrivateKey: alipayMerchant.privateKey,
      merchantPublicKey: alipayMerchant.publicKey,
      alipayPublicKey: alipayPlatform.publicKey,
      alipayPrivateKey: alipayPlatform.privateKey,
    },
    wechatpay: {
      mchId: '1900000001',
      appId: 'wx0000000000000001',
      merchantSerialNo: createHash('sha1').update(wechatMerchant.publicKey).digest('hex').toUpperCase(),
      merchantPrivateKey: wechatMerchant.privateKey,
      merchantPublicKey: wechatMerchant.publicKey,
      apiV3Key: randomBytes(16).toString('hex'),
      platformKeys: [
        {
          serial: `PUB_KEY_ID_${createHash('sha1').update(wechatPlatform.publicKey).digest('hex').slice(0, 24).toUpperCase()}`,
          publicKey: wechatPlatform.publicKey,
          privateKey: wechatPlatform.privateKey,
        },
      ],
    },
    unionpay: generateUnionpayKeys(),
    card: generateCardKeys(),
    paypal: generatePaypalKeys(),
    vouchers: {
      activeKeyId: voucherKeyId,
      keys: [{ keyId: voucherKeyId, createdAt: now.toISOString(), ...voucher }],
    },
    platformWebhookSecret: `whsec_${randomBytes(24).toString('base64url')}`,
    temporalCodec: generateCodecKeys(now),
    workflowMessageKey: randomBytes(32).toString('base64'),
    paymentIdKey: randomBytes(32).toString('base64'),
    codecServerToken: `cst_${randomBytes(24).toString('base64url')}`,
    atRest: generateAtRestKeys(now),
  };
}

export function keyringPath(dir: string): string {
  return join(dir, 'keyring.json');
}

/**
 * Writes `content` to `path` (mode 0600) unless the file exists, and answers whether this call
 * wrote it. Safe when several processes start at once: the file is published with a hard link,
 * which fails if another process published first.
 */
export function publishOnce(path: string, content: () => string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, content(), { mode: 0o600 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Reads the keyring from `dir`, generating it first if there is none (development and tests). */
export function loadOrCreateKeyring(dir: string): { keyring: Keyring; created: boolean } {
  const path = keyringPath(dir);
  const created = publishOnce(path, () => JSON.stringify(generateKeyring(), null, 2));
  return { keyring: loadKeyring(path), created };
}

export function loadKeyring(path: string): Keyring {
  const parsed = keyringSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`keyring ${path} is malformed: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  }
  return parsed.data;
}

/** Where a keyring carries the channel simulators' private keys, as JSON paths (never the values). */
export function channelPrivateKeysIn(keyring: {
  alipay: Pick<Keyring['alipay'], 'alipayPrivateKey'>;
  wechatpay: Pick<Keyring['wechatpay'], 'platformKeys'>;
  unionpay?: Pick<NonNullable<Keyring['unionpay']>, 'signingPrivateKey'>;
  paypal?: Partial<Pick<NonNullable<Keyring['paypal']>, 'clientId' | 'signingPrivateKey'>>;
}): string[] {
  return [
    ...(keyring.alipay.alipayPrivateKey === undefined ? [] : ['alipay.alipayPrivateKey']),
    ...(keyring.paypal?.signingPrivateKey === undefined ? [] : ['paypal.signingPrivateKey']),
    ...(keyring.unionpay?.signingPrivateKey === undefined ? [] : ['unionpay.signingPrivateKey']),
    ...keyring.wechatpay.platformKeys.flatMap((k, i) =>
      k.privateKey === undefined ? [] : [`wechatpay.platformKeys[${i}].privateKey`],
    ),
  ];
}

/** The process a keyring is loaded for: each keeps only the keys its own work uses. */
export type KeyringRole = 'api' | 'worker' | 'sandbox';

type KeyringConfig = { KEYS_DIR: string; SANDBOX_ENABLED: boolean };

/**
 * What the worker holds: the merchant keys it calls the channels with, the voucher and webhook
 * signing keys, the codec keys, the workflow message key and the at-rest keys. Never the channel
 * simulators' private keys (the simulators run in the sandbox process) nor the payment id key
 * (only the API names payments).
 */
export type WorkerKeyring = Omit<CompleteKeyring, 'paymentIdKey'>;

/**
 * The API's keys: no merchant private key (only the worker signs requests to the channels), no
 * channel private key (the simulators run in the sandbox process) and no webhook secret.
 */
export type ApiKeyring = Omit<
  CompleteKeyring,
  'alipay' | 'wechatpay' | 'unionpay' | 'card' | 'paypal' | 'platformWebhookSecret'
> & {
  /** Verifies webhooks; never calls the processor, so no secret key. */
  card?: Omit<NonNullable<Keyring['card']>, 'secretKey'> & { secretKey?: string };
  /** Verifies webhooks; never calls PayPal's API, so no client secret. */
  paypal?: PaypalKeys;
  alipay: Omit<Keyring['alipay'], 'merchantPrivateKey'> & { merchantPrivateKey?: string };
  wechatpay: Omit<Keyring['wechatpay'], 'merchantPrivateKey'> & { merchantPrivateKey?: string };
  unionpay?: UnionpayKeys;
};

/** A PayPal section as a process holds it: the client secret only where PayPal's API is called. */
export type PaypalKeys = Omit<
  NonNullable<Keyring['paypal']>,
  'clientSecret' | 'signingPrivateKey' | 'signingCertificates'
> & {
  clientSecret?: string;
};

/** A UnionPay section as a process holds it: the merchant's private key only where requests are signed. */
export type UnionpayKeys = Omit<NonNullable<Keyring['unionpay']>, 'merchantPrivateKey'> & {
  merchantPrivateKey?: string;
};

/**
 * The sandbox process's keys: what the simulated channels sign and verify with (their own private
 * keys, the merchant's public keys, the WeChat Pay API v3 key) and the webhook secret its platform
 * stub verifies with. Nothing of the payment system's own: no merchant private key, no codec,
 * voucher, message or at-rest key.
 */
export type SandboxKeyring = {
  alipay: Omit<Keyring['alipay'], 'merchantPrivateKey'>;
  wechatpay: Omit<Keyring['wechatpay'], 'merchantPrivateKey'>;
  unionpay?: Omit<NonNullable<Keyring['unionpay']>, 'merchantPrivateKey'>;
  /** The simulated processor checks the secret key callers present and signs webhooks, as the real one does. */
  card?: NonNullable<Keyring['card']>;
  /** The simulated PayPal checks the client credentials callers present and signs webhooks. */
  paypal?: NonNullable<Keyring['paypal']>;
  platformWebhookSecret: string;
};

function withoutChannelPrivateKeys<K extends CompleteKeyring>(keyring: K): K {
  const { alipayPrivateKey: _alipayPrivateKey, ...alipay } = keyring.alipay;
  const platformKeys = keyring.wechatpay.platformKeys.map(({ serial, publicKey }) => ({ serial, publicKey }));
  const unionpay = keyring.unionpay && withoutUnionpaySigner(keyring.unionpay);
  const paypal = keyring.paypal && withoutPaypalSecrets(keyring.paypal, true);
  return { ...keyring, alipay, wechatpay: { ...keyring.wechatpay, platformKeys }, unionpay, paypal };
}

/** A PayPal section without the sandbox's signer, and without the client secret unless `keepClientSecret`. */
function withoutPaypalSecrets(
  paypal: PaypalKeys & Pick<NonNullable<Keyring['paypal']>, 'signingPrivateKey' | 'signingCertificates'>,
  keepClientSecret: true,
): NonNullable<Keyring['paypal']>;
function withoutPaypalSecrets(
  paypal: PaypalKeys & Pick<NonNullable<Keyring['paypal']>, 'signingPrivateKey' | 'signingCertificates'>,
  keepClientSecret: false,
): PaypalKeys;
function withoutPaypalSecrets(
  paypal: PaypalKeys & Pick<NonNullable<Keyring['paypal']>, 'signingPrivateKey' | 'signingCertificates'>,
  keepClientSecret: boolean,
): PaypalKeys {
  const { clientId, clientSecret, webhookId, rootCertificate, signerCommonName } = paypal;
  return {
    clientId,
    webhookId,
    rootCertificate,
    signerCommonName,
    ...(keepClientSecret && clientSecret !== undefined ? { clientSecret } : {}),
  };
}

function withoutUnionpaySigner<U extends UnionpayKeys>(unionpay: U): U {
  const { signingPrivateKey: _signingPrivateKey, signingCertificate: _signingCertificate, ...rest } = unionpay;
  return rest as U;
}

function withoutVoucherPrivateKeys<K extends Keyring>(keyring: K): K {
  const keys = keyring.vouchers.keys.map(({ keyId, createdAt, publicKey }) => ({ keyId, createdAt, publicKey }));
  return { ...keyring, vouchers: { ...keyring.vouchers, keys } };
}

function withoutMerchantKey<U extends UnionpayKeys>(unionpay: U): Omit<U, 'merchantPrivateKey'> {
  const { merchantPrivateKey: _merchantPrivateKey, ...rest } = unionpay;
  return rest;
}

/**
 * The part of a complete keyring that `role` uses, so a process that leaks its memory leaks only
 * its own keys:
 * - `api` verifies what comes in (channel notifications with the providers' public keys and the
 *   WeChat Pay API v3 key, vouchers with their public keys), decodes histories and serves the codec,
 *   seals workflow messages, names payments and encrypts at rest. It never signs a voucher, never
 *   calls a channel and never plays one, so it holds no voucher, merchant or channel private key.
 * - `worker`: see {@link WorkerKeyring}.
 * - `sandbox`: see {@link SandboxKeyring}.
 */
export function narrowKeyring(keyring: CompleteKeyring, role: 'api'): ApiKeyring;
export function narrowKeyring(keyring: CompleteKeyring, role: 'worker'): WorkerKeyring;
export function narrowKeyring(keyring: CompleteKeyring, role: 'sandbox'): SandboxKeyring;
export function narrowKeyring(
  keyring: CompleteKeyring,
  role: KeyringRole,
): ApiKeyring | WorkerKeyring | SandboxKeyring {
  if (role === 'sandbox') {
    const { merchantPrivateKey: _alipayKey, ...alipay } = keyring.alipay;
    const { merchantPrivateKey: _wechatpayKey, ...wechatpay } = keyring.wechatpay;
    const unionpay = keyring.unionpay && withoutMerchantKey(keyring.unionpay);
    return {
      alipay,
      wechatpay,
      unionpay,
      card: keyring.card,
      paypal: keyring.paypal,
      platformWebhookSecret: keyring.platformWebhookSecret,
    };
  }
  if (role === 'api') {
    const verifying = withoutVoucherPrivateKeys(withoutChannelPrivateKeys(keyring));
    const { merchantPrivateKey: _alipayKey, ...alipay } = verifying.alipay;
    const { merchantPrivateKey: _wechatpayKey, ...wechatpay } = verifying.wechatpay;
    const { platformWebhookSecret: _webhookSecret, ...rest } = verifying;
    const unionpay = verifying.unionpay && withoutMerchantKey(verifying.unionpay);
    const card = verifying.card && { accountId: verifying.card.accountId, webhookSecret: verifying.card.webhookSecret };
    const paypal = verifying.paypal && withoutPaypalSecrets(verifying.paypal, false);
    return { ...rest, alipay, wechatpay, unionpay, card, paypal };
  }
  const { paymentIdKey: _paymentIdKey, ...worker } = withoutChannelPrivateKeys(keyring);
  return worker;
}

/**
 * The keyring for a process: generated on first run when the sandbox is on (development,
 * tests, demos); otherwise it must already exist at `KEYS_DIR/keyring.json`, and must not carry
 * the channel simulators' private keys (with them anyone can forge a channel's notifications).
 * Given a `role`, only the keys that process uses (see {@link narrowKeyring}); without one, every
 * key, for the operator's tools.
 */
export function keyringFor(config: KeyringConfig): CompleteKeyring;
export function keyringFor(config: KeyringConfig, role: 'api'): ApiKeyring;
export function keyringFor(config: KeyringConfig, role: 'worker'): WorkerKeyring;
export function keyringFor(config: KeyringConfig, role: 'sandbox'): SandboxKeyring;
export function keyringFor(
  config: KeyringConfig,
  role?: KeyringRole,
): CompleteKeyring | ApiKeyring | WorkerKeyring | SandboxKeyring {
  const keyring = completeKeyringFor(config);
  if (role === 'api') return narrowKeyring(keyring, role);
  if (role === 'worker') return narrowKeyring(keyring, role);
  if (role === 'sandbox') return narrowKeyring(keyring, role);
  return keyring;
}

/** Channel sections added after the first development keyrings were written, and how to make each. */
const LATE_CHANNELS = {
  unionpay: generateUnionpayKeys,
  card: generateCardKeys,
  paypal: generatePaypalKeys,
} as const;
type LateChannel = keyof typeof LATE_CHANNELS;

/**
 * A channel's section for a development keyring written before that channel existed: one file
 * beside it (`<channel>-keys.json`), generated once and shared by every process of the install.
 */
function lateChannelKeys<C extends LateChannel>(dir: string, channel: C): NonNullable<Keyring[C]> {
  const path = join(dir, `${channel}-keys.json`);
  publishOnce(path, () => JSON.stringify(LATE_CHANNELS[channel](), null, 2));
  const parsed = keyringSchema.shape[channel].safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success || parsed.data === undefined) {
    throw new Error(`${path} is malformed: delete it to have it made again`);
  }
  return parsed.data as NonNullable<Keyring[C]>;
}

function completeKeyringFor(config: KeyringConfig): CompleteKeyring {
  if (config.SANDBOX_ENABLED) {
    const { keyring } = loadOrCreateKeyring(config.KEYS_DIR);
    // A keyring from before a key existed: every process of this install shares one extra file.
    const late = (name: LateKey): string => {
      const own = keyring[name];
      if (own) return own;
      const path = join(config.KEYS_DIR, LATE_KEYS[name]);
      publishOnce(path, () => randomBytes(32).toString('base64'));
      return readFileSync(path, 'utf8').trim();
    };
    return {
      ...keyring,
      unionpay: keyring.unionpay ?? lateChannelKeys(config.KEYS_DIR, 'unionpay'),
      card: keyring.card ?? lateChannelKeys(config.KEYS_DIR, 'card'),
      paypal: keyring.paypal ?? lateChannelKeys(config.KEYS_DIR, 'paypal'),
      workflowMessageKey: late('workflowMessageKey'),
      paymentIdKey: late('paymentIdKey'),
    };
  }
  const path = keyringPath(config.KEYS_DIR);
  if (!existsSync(path)) {
    throw new Error(`no keyring at ${path} (KEYS_DIR): mount the production keyring.json there, or enable the sandbox`);
  }
  const keyring = loadKeyring(path);
  const simulatorKeys = channelPrivateKeysIn(keyring);
  if (simulatorKeys.length > 0) {
    throw new Error(
      `keyring ${path} carries the channel simulators' private keys (${simulatorKeys.join(', ')}): with the sandbox ` +
        "off (SANDBOX_ENABLED=false) a keyring holds only the providers' public keys, since these let anyone forge " +
        "a channel's notifications. Remove them from keyring.json (a development keyring has them; a production " +
        'one never does), or enable the sandbox',
    );
  }
  const { workflowMessageKey, paymentIdKey } = keyring;
  if (!workflowMessageKey || !paymentIdKey) {
    const missing = Object.keys(LATE_KEYS).filter((name) => !keyring[name as LateKey]);
    throw new Error(
      `keyring ${path} has no ${missing.join(' or ')}: add each as 32 random bytes, base64 ` +
        "(`node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"`), the same in every process",
    );
  }
  return { ...keyring, workflowMessageKey, paymentIdKey };
}
