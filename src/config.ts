import { parseChannelWeights } from './channels/routing.js';
import { PAYMENT_CHANNELS } from '../domain/payment.js';
import { z } from 'zod';
import type { RiskRules } from '../domain/risk.js';
import { CURRENCIES, type Currency, isCurrency } from '../domain/money.js';
import { DEFAULT_PLATFORM_ID, PLATFORM_KEYS_PATTERN, parsePlatformKeys } from './crypto/platform-keys.js';
import { isAddressRangeList } from './api/address-ranges.js';
import { KEY_ID_PATTERN, type PlatformKey } from './crypto/request-signing.js';

/**
 * Process configuration, read once at boot from the environment.
 *
 * Every variable is documented in docs/configuration.md with its default. A bad value stops the process
 * with a message naming the variable (see {@link ConfigError}); secrets are never echoed back.
 */
const port = z.coerce.number().int().min(1).max(65535);
const positiveSeconds = z.coerce.number().int().min(1).max(86_400);

/** The codes of a comma-separated list, trimmed, empty entries left out. */
function currencyCodesOf(list: string): string[] {
  return list
    .split(',')
    .map((code) => code.trim())
    .filter((code) => code !== '');
}

/** What `SANDBOX_IN_PRODUCTION` must say for the sandbox to start with `NODE_ENV=production`. */
export const SANDBOX_IN_PRODUCTION_CONSENT = 'i-understand-anyone-can-pay-any-payment';

/** Folder of `keyring.json` unless KEYS_DIR says otherwise. */
export const DEFAULT_KEYS_DIR = '.data/dev/keys';
/** The one variable the key tools need: they run on an operator's machine without the rest. */
export const keysDirSchema = z.object({ KEYS_DIR: z.string().min(1).default(DEFAULT_KEYS_DIR) });

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  /** Largest JSON body the API accepts, in bytes. */
  API_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(65_536),
  /** Largest payment accepted, in minor units of any currency. */
  PAYMENT_MAX_AMOUNT: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(100_000_000),

  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, for example 127.0.0.1:7233')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('payments'),

  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'expected a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017/knowledge_pay'),

  /** Base URL at which channels, learners and the platform reach this API (notify and pay URLs). */
  PUBLIC_BASE_URL: z.url().optional(),
  /** Folder of `keyring.json` (merchant, channel-sandbox, voucher and webhook keys). */
  KEYS_DIR: keysDirSchema.shape.KEYS_DIR,

  /** Channel sandboxes, cashier pages, control API and platform stub; default on outside production. */
  SANDBOX_ENABLED: z.enum(['true', 'false']).optional(),
  /**
   * The sandbox lets anyone pay any payment, so `NODE_ENV=production` refuses it unless this is
   * exactly {@link SANDBOX_IN_PRODUCTION_CONSENT} (a demo that must run as production).
   */
  SANDBOX_IN_PRODUCTION: z
    .literal(SANDBOX_IN_PRODUCTION_CONSENT, { error: `expected ${SANDBOX_IN_PRODUCTION_CONSENT}` })
    .optional(),
  /**
   * Bearer token of the sandbox control API (`/sandbox/v1`). Unset outside production, one is
   * generated into `KEYS_DIR/sandbox-control.token`; required when the sandbox runs in production.
   */
  SANDBOX_CONTROL_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{32,256}$/, 'expected 32 to 256 printable characters without spaces')
    .optional(),
  /**
   * The sandbox (channel simulators, cashier pages, control API, platform stub) runs as its own
   * process, with its own database, so it witnesses what the payment system did without sharing
   * anything with it. It listens on `SANDBOX_HOST:SANDBOX_PORT` (default `API_PORT` + 1, loopback);
   * the API forwards `/sandbox/*` to `SANDBOX_URL` so the public URLs stay the API's, and the
   * worker calls it there directly.
   */
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_PORT: port.optional(),
  SANDBOX_URL: z.url().optional(),
  /** The sandbox's own database; default: MONGODB_URI's server with the database name + `_sandbox`. */
  SANDBOX_MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'expected a mongodb:// or mongodb+srv:// URI')
    .optional(),
  /** Sandbox notification resend schedules are multiplied by this (0.01: Alipay's 4 min becomes 2.4 s). */
  SANDBOX_TIME_SCALE: z.coerce.number().positive().max(1).default(0.01),
  ALIPAY_GATEWAY_URL: z.url().optional(),
  WECHATPAY_BASE_URL: z.url().optional(),
  /** UnionPay's ACP gateway base, for example `https://gateway.95516.com`. */
  UNIONPAY_GATEWAY_URL: z.url().optional(),
  /** The card processor's API base (Stripe: `https://api.stripe.com`). */
  CARD_API_URL: z.url().optional(),
  /** Where a learner confirms a card PaymentIntent; the intent's id is appended. */
  CARD_PAY_PAGE_URL: z.url().optional(),
  /** PayPal's REST API base (`https://api-m.paypal.com`, or `https://api-m.sandbox.paypal.com`). */
  PAYPAL_API_URL: z.url().optional(),
  /**
   * The only place a webhook's `PAYPAL-CERT-URL` may point (scheme, host and path prefix): the API
   * fetches the signing certificate from there, so it must be PayPal's own certificate host.
   */
  PAYPAL_CERT_URL_PREFIX: z.url().optional(),
  /**
   * Channels payments may be routed to, in preference order. Unset: every channel with the sandbox
   * on; Alipay and WeChat Pay with it off (UnionPay, cards and PayPal need their keyring sections, so a
   * deployment enables them by name).
   */
  CHANNELS_ENABLED: z
    .string()
    .regex(
      /^(alipay|wechatpay|unionpay|card|paypal)(,(alipay|wechatpay|unionpay|card|paypal))*$/,
      'expected a comma-separated list of alipay, wechatpay, unionpay, card, paypal',
    )
    .optional(),
  ALIPAY_MAX_AMOUNT: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(100_000_000),
  WECHATPAY_MAX_AMOUNT: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(50_000_000),
  UNIONPAY_MAX_AMOUNT: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(50_000_000),
  /** The card channel's limit, in minor units of whichever currency the payment is in. */
  CARD_MAX_AMOUNT: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(10_000_000),
  /** PayPal's limit, in minor units of whichever currency the payment is in. */
  PAYPAL_MAX_AMOUNT: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(10_000_000),
  /** The risk check's velocity window, in minutes. Every rule below is off at 0 (its default). */
  RISK_WINDOW_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
  /** Payments one customer may start in the window before the payment waits for staff review. */
  RISK_CUSTOMER_MAX_PAYMENTS: z.coerce.number().int().min(0).max(1_000_000).default(0),
  /** Minor units (per currency) one customer may start in the window before review. */
  RISK_CUSTOMER_MAX_AMOUNT: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  /** Payments one client address may start in the window before review. */
  RISK_ADDRESS_MAX_PAYMENTS: z.coerce.number().int().min(0).max(1_000_000).default(0),
  /** Review an amount above this many times the customer's usual paid amount (after 3 paid payments). */
  RISK_UNUSUAL_AMOUNT_FACTOR: z.coerce.number().min(0).max(1_000).default(0),
  /** Block a customer whose latest payments ended unpaid this many times in a row. */
  RISK_MAX_FAILED_IN_A_ROW: z.coerce.number().int().min(0).max(1_000).default(0),
  /** Blocked customers and client addresses: comma-separated keyed hashes (`npm run risk-hash`). */
  RISK_BLOCKED_CUSTOMERS: z
    .string()
    .regex(/^[0-9a-f]{64}(,[0-9a-f]{64})*$/, 'expected comma-separated 64-hex hashes from npm run risk-hash')
    .optional(),
  RISK_BLOCKED_ADDRESSES: z
    .string()
    .regex(/^[0-9a-f]{64}(,[0-9a-f]{64})*$/, 'expected comma-separated 64-hex hashes from npm run risk-hash')
    .optional(),
  /** A volume split between channels, `alipay:3,wechatpay:1`: routing draws the order by these weights. */
  CHANNEL_WEIGHTS: z.string().optional(),
  /** Share of payments (0-0.5) for which a ranked-down channel goes first, to keep measuring it; off by default. */
  CHANNEL_EXPLORATION: z.coerce.number().min(0).max(0.5).default(0),
  /** The sliding window of channel health, in minutes. */
  CHANNEL_HEALTH_WINDOW_MINUTES: z.coerce.number().int().min(1).max(60).default(5),
  /** Calls of one channel operation in the window before its breaker may open. */
  CHANNEL_BREAKER_MIN_CALLS: z.coerce.number().int().min(1).max(10_000).default(5),
  /** Share of failed calls (0-1) that opens a channel operation's breaker. */
  CHANNEL_BREAKER_FAILURE_RATE: z.coerce.number().gt(0).max(1).default(0.5),
  /** How long an open breaker waits before a call may test the channel again, in seconds. */
  CHANNEL_BREAKER_COOLDOWN_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
  /** Timeout of every call to a channel, in milliseconds. */
  CHANNEL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),

  /**
   * The one platform this install serves. Its payments, order ids and webhooks are that platform's;
   * a second platform runs an install of its own.
   */
  PLATFORM_ID: z.string().regex(KEY_ID_PATTERN, 'expected 1-64 of A-Z a-z 0-9 _ . -').default(DEFAULT_PLATFORM_ID),
  /**
   * The keys the platform's backends sign their requests with: `[platformId/]keyId:secret[,...]`,
   * each secret at least 32 characters. Several at once, so a key rotates without downtime and each
   * backend service can have its own; all belong to `PLATFORM_ID`, and a key naming another
   * platform stops the process. Required when the sandbox is off; with the sandbox on and none
   * given, a development key is generated into `KEYS_DIR/platform-key.json`.
   */
  PLATFORM_KEYS: z
    .string()
    .regex(PLATFORM_KEYS_PATTERN, 'expected [platformId/]keyId:secret[,...] with secrets of at least 32 characters')
    .optional(),
  /** The merchant's name as learners read it on the hosted checkout and the receipt. */
  PLATFORM_NAME: z
    .string()
    .min(1)
    .max(80)
    // eslint-disable-next-line no-control-regex -- the point is to reject control characters
    .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not contain control characters')
    .default('Knowledge Shop'),
  /**
   * Origins a payment's `returnUrl` may point at, comma-separated (`https://shop.example,https://m.shop.example`).
   * Unset: a create with a `returnUrl` is refused (`return_url_not_allowed`).
   */
  PLATFORM_RETURN_ORIGINS: z
    .string()
    .regex(
      /^\s*https?:\/\/[^\s,/]+\s*(,\s*https?:\/\/[^\s,/]+\s*)*$/,
      'expected origins such as https://shop.example separated by commas',
    )
    .optional(),
  /**
   * The currency the merchant is paid in. A payment in another currency gets an exchange quote
   * locked at create time (`fx` on the payment, the voucher and the receipt).
   */
  SETTLEMENT_CURRENCY: z.enum(CURRENCIES).default('CNY'),
  /**
   * Where exchange rates come from: a URL answering `GET ?base=USD&quote=CNY` with
   * `{ rate, quotedAt, source }` (src/fx/rates.ts). Defaults to the sandbox's rates when the sandbox is on.
   */
  FX_RATES_URL: z.url().optional(),
  /** Requests one platform key may make per minute, across every API process. */
  PLATFORM_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1_200),
  /** Requests one client address may make per minute to the unauthenticated voucher routes. */
  PUBLIC_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** Channel callbacks one client address may post per minute to `/v1/callbacks/*`, across every API process. */
  CALLBACK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1_200),
  /**
   * Where channel callbacks may come from: addresses and CIDR ranges, comma-separated (the ranges
   * the channels publish for their notifications). Unset: any address. A callback from elsewhere
   * is refused with 403 before it is read or stored. The address is the client's as
   * `API_TRUST_PROXY` determines it.
   */
  CALLBACK_ALLOWED_CIDRS: z
    .string()
    .refine(
      isAddressRangeList,
      'expected addresses or CIDR ranges separated by commas, e.g. 203.0.113.0/24,2001:db8::/32',
    )
    .optional(),
  /** Days a callback that failed verification is kept (its hash and a short prefix only) before the sweep removes it. */
  CALLBACK_REJECTED_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(7),
  /**
   * How old an Alipay notification's signed `notify_time` may be, in seconds. The default, 26 h,
   * takes every resend of Alipay's schedule (8 deliveries within 25 h) with an hour to spare.
   */
  ALIPAY_NOTIFY_MAX_AGE_SECONDS: z.coerce.number().int().min(600).max(604_800).default(93_600),
  /**
   * The foreign currencies the Alipay merchant account takes in Alipay's cross-border mode
   * (跨境收单: priced in the currency, paid by the buyer in CNY, settled in CNY), comma-separated
   * ISO 4217 codes. CNY is always taken; an empty value takes CNY only.
   */
  ALIPAY_CROSS_BORDER_CURRENCIES: z
    .string()
    .refine(
      (list) => currencyCodesOf(list).every((code) => code !== 'CNY' && isCurrency(code)),
      `expected currency codes other than CNY separated by commas, among ${CURRENCIES.filter((c) => c !== 'CNY').join(', ')}`,
    )
    .default('USD,EUR,GBP,HKD,JPY,SGD,AUD,CAD,KRW')
    .transform((list) => [...new Set(currencyCodesOf(list))] as Currency[]),
  /**
   * Which proxies' `X-Forwarded-For` to believe when telling clients apart (the public rate limit):
   * `false` (the TCP peer), a hop count such as `1`, or addresses and subnets such as
   * `10.0.0.0/8,loopback` (Express's `trust proxy`).
   */
  API_TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d{1,2}|[0-9A-Za-z.:/,\s]+)$/, 'expected false, a hop count, or addresses and subnets')
    .default('false'),
  /** A request not answered within this many milliseconds gets a 503 the caller may retry. */
  API_RESPONSE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(30_000),

  /** Where outcome webhooks go; defaults to the sandbox platform stub when the sandbox is on. */
  PLATFORM_WEBHOOK_URL: z.url().optional(),
  /** Timeout of one webhook delivery attempt, in milliseconds. */
  PLATFORM_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),

  /**
   * Removed: the codec server always asks for its token (or a Web UI session), on loopback too.
   * Anything but `false` stops the process, so nobody relies on the old exemption.
   */
  CODEC_ALLOW_LOOPBACK: z
    .literal('false', { error: 'removed: the codec server always requires its token (or a Web UI session); unset it' })
    .optional(),
  /** Origins the codec server admits by CORS: the Temporal Web UI's. */
  CODEC_CORS_ORIGINS: z.string().min(1).default('http://127.0.0.1:8233,http://localhost:8233'),
  /** Host names the codec server answers besides loopback's and PUBLIC_BASE_URL's (a proxy's), comma-separated. */
  CODEC_ALLOWED_HOSTS: z
    .string()
    .regex(/^\s*[\w.:[\]-]+\s*(,\s*[\w.:[\]-]+\s*)*$/, 'expected host names separated by commas')
    .optional(),
  /** Payloads one codec request may carry. */
  CODEC_MAX_PAYLOADS: z.coerce.number().int().min(1).max(1_000).default(64),
  /** Largest codec request body, in bytes. */
  CODEC_BODY_LIMIT_BYTES: z.coerce.number().int().min(16_384).max(4_194_304).default(524_288),
  /** Codec requests one client address may make per minute, across every API process. */
  CODEC_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1_200),
  /** How long a dashboard sign-in lasts, in minutes (the session cookie's `Max-Age`). */
  DASHBOARD_SESSION_MINUTES: z.coerce.number().int().min(5).max(10_080).default(480),

  /** Length of a voucher-ledger period: vouchers issued in it are sealed together afterwards. */
  VOUCHER_SEAL_PERIOD_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** How long after a period ends before it is sealed, so in-flight issues land first. */
  VOUCHER_SEAL_GRACE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(60),

  /** A refund above this many minor units waits for a finance decision. */
  REFUND_REVIEW_ABOVE_AMOUNT: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(50_000),
  /** A refund requested more than this many days after the payment succeeded waits for review. */
  REFUND_REVIEW_AFTER_DAYS: z.coerce.number().int().min(0).max(3_650).default(7),
  /**
   * Seconds between queries of a refund the channel accepted but has not confirmed (when its
   * notification does not come); the last repeats. After the whole list the refund is flagged.
   */
  REFUND_QUERY_SCHEDULE_SECONDS: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'expected seconds separated by commas, e.g. 10,30,60')
    .default('10,30,60,120,300,600,1800,3600'),
  /** How long a payment's refunds workflow stays open with nothing to do. */
  REFUNDS_IDLE_SECONDS: positiveSeconds.default(3_600),
  /**
   * How long a payment waits, in all, between routing rounds while every channel that could take
   * it is unavailable (2 s doubling to 30 s, within its window) before it fails with
   * `channels_unavailable`; 0: one pass.
   */
  CHANNEL_OPEN_RETRY_SECONDS: z.coerce.number().int().min(0).max(3_600).default(180),
  /** Where the worker serves `GET /metrics` (its metrics and the Temporal SDK's); 0: not at all. One port per worker process on a machine. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  /** The address the worker's metrics listen on: loopback unless a scraper elsewhere needs them. */
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Bearer token a Prometheus scraper sends for `GET /metrics`; unset: only this machine (loopback) may read it. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /**
   * When the daily reconciliation of each enabled channel runs, `HH:MM` Beijing time: after the
   * channels publish the previous day's bill (WeChat Pay from 10:00); `off`: no schedule.
   */
  RECONCILIATION_TIME: z
    .string()
    .regex(/^(off|([01]\d|2[0-3]):[0-5]\d)$/, 'must be HH:MM (Beijing time) or off')
    .default('10:30'),
  /** The statistics' day boundary, minutes east of UTC: Beijing time (480) by default. */
  STATS_UTC_OFFSET_MINUTES: z.coerce.number().int().min(-720).max(840).default(480),
  /** How long a channel may keep failing a query or close before the payment asks for people (`channel_unreachable`). */
  ATTENTION_CHANNEL_AFTER_SECONDS: positiveSeconds.default(300),
  /** How long the platform may keep failing a webhook before the payment asks for people (`webhook_failing`). */
  ATTENTION_WEBHOOK_AFTER_SECONDS: positiveSeconds.default(1_800),

  /** How long a stopping worker lets running activities finish before abandoning them. */
  WORKER_SHUTDOWN_GRACE_SECONDS: positiveSeconds.default(30),
  /** Prebuilt workflow bundle; when unset the worker bundles `workflows/` at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /**
   * Where OpenTelemetry traces go: the base URL of an OTLP/HTTP receiver (a collector, Jaeger,
   * Tempo); spans are posted to `<endpoint>/v1/traces`. Unset: no tracing at all.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** The `service.name` traces carry; default `knowledge-pay-api` or `knowledge-pay-worker`. */
  OTEL_SERVICE_NAME: z
    .string()
    .regex(/^[\w.-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 _ . -')
    .optional(),
  /** Timeout of every readiness probe and of connecting at boot. */
  DEPENDENCY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
});

type RawConfig = z.infer<typeof configSchema>;

/** The validated configuration, with the values that derive from others filled in. */
export type Config = Omit<
  RawConfig,
  | 'SANDBOX_ENABLED'
  | 'SANDBOX_IN_PRODUCTION'
  | 'PUBLIC_BASE_URL'
  | 'CODEC_ALLOW_LOOPBACK'
  | 'PLATFORM_KEYS'
  | 'SANDBOX_PORT'
  | 'SANDBOX_URL'
  | 'SANDBOX_MONGODB_URI'
  | 'CHANNELS_ENABLED'
  | 'PAYPAL_CERT_URL_PREFIX'
> & {
  CHANNELS_ENABLED: string;
  SANDBOX_ENABLED: boolean;
  /** The sandbox runs with `NODE_ENV=production`, by the operator's explicit consent. */
  SANDBOX_IN_PRODUCTION: boolean;
  /** Parsed `PLATFORM_KEYS`; undefined when unset (the sandbox's development key is used then). */
  PLATFORM_KEYS: PlatformKey[] | undefined;
  PUBLIC_BASE_URL: string;
  SANDBOX_PORT: number;
  /** Where the API and the worker reach the sandbox process (no trailing slash). */
  SANDBOX_URL: string;
  SANDBOX_MONGODB_URI: string;
  ALIPAY_GATEWAY_URL: string | undefined;
  WECHATPAY_BASE_URL: string | undefined;
  UNIONPAY_GATEWAY_URL: string | undefined;
  CARD_API_URL: string | undefined;
  CARD_PAY_PAGE_URL: string | undefined;
  PAYPAL_API_URL: string | undefined;
  PAYPAL_CERT_URL_PREFIX: string;
  PLATFORM_WEBHOOK_URL: string | undefined;
};

/** A configuration value is missing or malformed; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Shared by every schema of environment variables in the project, so that all of them
 * report bad values the same way: variable name and what was expected, never the value.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  return result.data;
}

/** Where PayPal serves the certificates its webhooks are signed with. */
export const PAYPAL_CERT_URL_PREFIX = 'https://api.paypal.com/v1/notifications/certs/';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = parseEnv(configSchema, env);
  const sandbox = raw.SANDBOX_ENABLED === undefined ? raw.NODE_ENV !== 'production' : raw.SANDBOX_ENABLED === 'true';
  const base = (
    raw.PUBLIC_BASE_URL ?? `http://${raw.API_HOST === '0.0.0.0' ? '127.0.0.1' : raw.API_HOST}:${raw.API_PORT}`
  ).replace(/\/+$/, '');
  const channelsEnabled =
    raw.CHANNELS_ENABLED ?? (sandbox ? 'alipay,wechatpay,unionpay,card,paypal' : 'alipay,wechatpay');
  const missing = [
    !sandbox && !raw.ALIPAY_GATEWAY_URL && channelsEnabled.includes('alipay') && 'ALIPAY_GATEWAY_URL',
    !sandbox && !raw.WECHATPAY_BASE_URL && channelsEnabled.includes('wechatpay') && 'WECHATPAY_BASE_URL',
    !sandbox && !raw.UNIONPAY_GATEWAY_URL && channelsEnabled.includes('unionpay') && 'UNIONPAY_GATEWAY_URL',
    !sandbox && !raw.CARD_API_URL && channelsEnabled.includes('card') && 'CARD_API_URL',
    !sandbox && !raw.CARD_PAY_PAGE_URL && channelsEnabled.includes('card') && 'CARD_PAY_PAGE_URL',
    !sandbox && !raw.PAYPAL_API_URL && channelsEnabled.includes('paypal') && 'PAYPAL_API_URL',
    !sandbox && !raw.PLATFORM_WEBHOOK_URL && 'PLATFORM_WEBHOOK_URL',
    !sandbox && !raw.PLATFORM_KEYS && 'PLATFORM_KEYS',
  ].filter((name): name is string => typeof name === 'string');
  if (missing.length > 0) {
    throw new ConfigError(missing.map((name) => `${name}: required when the sandbox is off (SANDBOX_ENABLED=false)`));
  }
  const sandboxInProduction = sandbox && raw.NODE_ENV === 'production';
  if (sandboxInProduction) {
    const refusals = [
      !raw.SANDBOX_IN_PRODUCTION &&
        'SANDBOX_ENABLED: the sandbox lets anyone pay any payment, so NODE_ENV=production refuses it. ' +
          "For real channels set SANDBOX_ENABLED=false with the enabled channels' URLs (ALIPAY_GATEWAY_URL, " +
          'WECHATPAY_BASE_URL, UNIONPAY_GATEWAY_URL, CARD_API_URL, CARD_PAY_PAGE_URL and PAYPAL_API_URL), ' +
          'PLATFORM_WEBHOOK_URL and PLATFORM_KEYS; only for a demo that must run as production, ' +
          `set SANDBOX_IN_PRODUCTION=${SANDBOX_IN_PRODUCTION_CONSENT}`,
      !raw.SANDBOX_CONTROL_TOKEN &&
        'SANDBOX_CONTROL_TOKEN: required when the sandbox runs in production (32 or more random characters)',
      !raw.PLATFORM_KEYS && 'PLATFORM_KEYS: required in production; no development key is generated there',
    ].filter((problem): problem is string => typeof problem === 'string');
    if (refusals.length > 0) throw new ConfigError(refusals);
  }
  try {
    parseChannelWeights(raw.CHANNEL_WEIGHTS, PAYMENT_CHANNELS);
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  const platformKeys =
    raw.PLATFORM_KEYS === undefined ? undefined : parsePlatformKeys(raw.PLATFORM_KEYS, raw.PLATFORM_ID);
  if (platformKeys && platformKeys.problems.length > 0) throw new ConfigError(platformKeys.problems);
  const sandboxPort = raw.SANDBOX_PORT ?? raw.API_PORT + 1;
  const sandboxUrl = (
    raw.SANDBOX_URL ?? `http://${raw.SANDBOX_HOST === '0.0.0.0' ? '127.0.0.1' : raw.SANDBOX_HOST}:${sandboxPort}`
  ).replace(/\/+$/, '');
  return {
    ...raw,
    CHANNELS_ENABLED: channelsEnabled,
    PLATFORM_KEYS: platformKeys?.keys,
    SANDBOX_ENABLED: sandbox,
    SANDBOX_IN_PRODUCTION: sandboxInProduction,
    PUBLIC_BASE_URL: base,
    SANDBOX_PORT: sandboxPort,
    SANDBOX_URL: sandboxUrl,
    SANDBOX_MONGODB_URI: raw.SANDBOX_MONGODB_URI ?? sandboxDatabaseUri(raw.MONGODB_URI),
    // parseEnv drops empty values, so the empty list that turns cross-border off is read here.
    ALIPAY_CROSS_BORDER_CURRENCIES:
      env.ALIPAY_CROSS_BORDER_CURRENCIES?.trim() === '' ? [] : raw.ALIPAY_CROSS_BORDER_CURRENCIES,
    ALIPAY_GATEWAY_URL: raw.ALIPAY_GATEWAY_URL ?? (sandbox ? `${sandboxUrl}/sandbox/alipay/gateway.do` : undefined),
    WECHATPAY_BASE_URL: raw.WECHATPAY_BASE_URL ?? (sandbox ? `${sandboxUrl}/sandbox/wechatpay` : undefined),
    UNIONPAY_GATEWAY_URL: raw.UNIONPAY_GATEWAY_URL ?? (sandbox ? `${sandboxUrl}/sandbox/unionpay` : undefined),
    CARD_API_URL: raw.CARD_API_URL ?? (sandbox ? `${sandboxUrl}/sandbox/card` : undefined),
    CARD_PAY_PAGE_URL: raw.CARD_PAY_PAGE_URL ?? (sandbox ? `${base}/sandbox/card/pay` : undefined),
    PAYPAL_API_URL: raw.PAYPAL_API_URL ?? (sandbox ? `${sandboxUrl}/sandbox/paypal` : undefined),
    PAYPAL_CERT_URL_PREFIX:
      raw.PAYPAL_CERT_URL_PREFIX ??
      (sandbox ? `${sandboxUrl}/sandbox/paypal/v1/notifications/certs/` : PAYPAL_CERT_URL_PREFIX),
    PLATFORM_WEBHOOK_URL: raw.PLATFORM_WEBHOOK_URL ?? (sandbox ? `${sandboxUrl}/sandbox/platform/webhooks` : undefined),
  };
}

/**
 * `uri` with `_sandbox` appended to its database name (`knowledge_pay` when it names none). A URI
 * with credentials keeps authenticating against the original database (`authSource`), as the
 * driver did before the name changed.
 */
export function sandboxDatabaseUri(uri: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/([^/?]+))(?:\/([^?]*))?(?:\?(.*))?$/.exec(uri);
  if (!match) return uri;
  const [, server, authority = '', database, query] = match;
  const params = new URLSearchParams(query ?? '');
  if (authority.includes('@') && !params.has('authSource')) params.set('authSource', database || 'admin');
  const search = params.toString();
  return `${server}/${database || 'knowledge_pay'}_sandbox${search ? `?${search}` : ''}`;
}

/** The risk rules of a configuration (domain/risk.ts). */
export function riskRulesOf(config: Config): RiskRules {
  const hashes = (list: string | undefined) => new Set(list === undefined ? [] : list.split(','));
  return {
    windowMinutes: config.RISK_WINDOW_MINUTES,
    customerMaxPayments: config.RISK_CUSTOMER_MAX_PAYMENTS,
    customerMaxAmount: config.RISK_CUSTOMER_MAX_AMOUNT,
    addressMaxPayments: config.RISK_ADDRESS_MAX_PAYMENTS,
    unusualAmountFactor: config.RISK_UNUSUAL_AMOUNT_FACTOR,
    usualAfterPayments: 3,
    maxFailedInARow: config.RISK_MAX_FAILED_IN_A_ROW,
    blockedCustomers: hashes(config.RISK_BLOCKED_CUSTOMERS),
    blockedAddresses: hashes(config.RISK_BLOCKED_ADDRESSES),
  };
}
