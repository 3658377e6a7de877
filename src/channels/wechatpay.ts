import { createDecipheriv, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { ApiKeyring, Keyring } from '../crypto/keyring.js';
import type { ChannelTradeState } from '../../domain/payment.js';
import type { Currency } from '../../domain/money.js';
import { verifyRsa2 } from './alipay.js';
import { channelFetch } from './http.js';
import {
  ChannelRejectedError,
  type ChannelAck,
  type ChannelAdapter,
  type ChannelOrder,
  type ChannelTrade,
  type CloseResult,
  type ChannelRefundNotification,
  type CreateChannelOrderRequest,
  type RawCallback,
  type RefundOutcome,
  type RefundRequest,
  type VerificationResult,
  merchantSigningKey,
} from './types.js';

/**
 * WeChat Pay API v3 adapter (Native pay). Requests carry a `WECHATPAY2-SHA256-RSA2048`
 * Authorization signed with the merchant key; answers and notifications are signed by WeChat Pay
 * with the key named by `Wechatpay-Serial` and verified here, failing closed on an unknown serial
 * (key rotation). Amounts on the wire are integer fen. See PROTOCOLS.md.
 */

export const WECHATPAY_SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';
/** How far a signed answer's or notification's timestamp may be from our clock. */
export const WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS = 300;
/**
 * Longest `Wechatpay-*` header value read (an RSA-4096 signature is 684 base64 characters); a
 * longer one is refused before anything parses it.
 */
export const WECHATPAY_HEADER_MAX_LENGTH = 1024;
/** Longest `Authorization` header read: the scheme and five short parameters, with room to spare. */
export const WECHATPAY_AUTHORIZATION_MAX_LENGTH = 2048;
/** WeChat Pay's generic failure: the reason stays in our callback record, not on the wire. */
const FAILURE_ACK_BODY = JSON.stringify({ code: 'FAIL', message: '失败' });

const CURRENCY: Currency = 'CNY';

/** WeChat Pay's RFC 3339 time with the Asia/Shanghai offset: `2026-02-10T15:04:05+08:00`. */
export function formatWechatpayTime(at: Date): string {
  return `${new Date(at.getTime() + 8 * 60 * 60 * 1000).toISOString().slice(0, 19)}+08:00`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function parseWechatpayTime(text: string | undefined): Date | undefined {
  if (text === undefined || !RFC3339.test(text)) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** CNY minor units are fen: the wire amount is the same integer, checked to be one. */
export function minorToFen(amount: number, currency: Currency): number {
  if (currency !== CURRENCY || !Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(`WeChat Pay takes non-negative integer CNY amounts, got ${amount} ${currency}`);
  }
  return amount;
}

/** A wire amount in fen as minor units; `undefined` unless it is a non-negative safe integer. */
export function fenToMinor(fen: unknown): number | undefined {
  return typeof fen === 'number' && Number.isSafeInteger(fen) && fen >= 0 ? fen : undefined;
}

/** What the merchant signs: `METHOD\nURL\ntimestamp\nnonce\nbody\n`, URL being path and query. */
export function wechatpayRequestMessage(
  method: string,
  pathWithQuery: string,
  timestamp: string,
  nonce: string,
  body: string,
): string {
  return `${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** What WeChat Pay signs on answers and notifications: `timestamp\nnonce\nbody\n` over the raw body bytes. */
export function wechatpayMessage(timestamp: string, nonce: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), body, Buffer.from('\n', 'utf8')]);
}

/** 32 upper-case hexadecimal characters. */
export function wechatpayNonce(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

export interface WechatpayAuthorization {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

/** The merchant's `Authorization` header for one request; `body` is the exact text sent ('' for GET). */
export function wechatpayAuthorization(
  merchant: Pick<ApiKeyring['wechatpay'], 'mchId' | 'merchantSerialNo' | 'merchantPrivateKey'>,
  method: string,
  pathWithQuery: string,
  body: string,
  options: { now?: Date; nonce?: string } = {},
): string {
  const timestamp = String(Math.floor((options.now ?? new Date()).getTime() / 1000));
  const nonce = options.nonce ?? wechatpayNonce();
  const message = wechatpayRequestMessage(method, pathWithQuery, timestamp, nonce, body);
  const signature = sign(
    'sha256',
    Buffer.from(message, 'utf8'),
    merchantSigningKey(merchant.merchantPrivateKey),
  ).toString('base64');
  return (
    `${WECHATPAY_SIGNATURE_TYPE} mchid="${merchant.mchId}",nonce_str="${nonce}",` +
    `timestamp="${timestamp}",serial_no="${merchant.merchantSerialNo}",signature="${signature}"`
  );
}

const SPACE = 0x20;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;

/** `[A-Za-z0-9_]`, what a parameter name is made of. */
function isNameCharacter(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f
  );
}

/**
 * Reads `name="value",name="value"...` (spaces allowed around the commas) in one pass from left to
 * right that looks at each character once, so the work is linear in the length whatever the text
 * (a backtracking regex over it was quadratic). `onCharacter` is called for each character looked
 * at, for tests to count. `undefined` for anything else: a name not of `[A-Za-z0-9_]`, a value
 * without both its quotes, a missing or trailing comma, or a name given twice.
 */
export function parseQuotedParameters(text: string, onCharacter?: () => void): Map<string, string> | undefined {
  const params = new Map<string, string>();
  let state: 'name' | 'nameOrSpace' | 'openQuote' | 'value' | 'commaOrSpace' = 'nameOrSpace';
  let start = 0;
  let name = '';
  for (let i = 0; i < text.length; i += 1) {
    onCharacter?.();
    const code = text.charCodeAt(i);
    switch (state) {
      case 'nameOrSpace':
        if (code === SPACE) break;
        if (!isNameCharacter(code)) return undefined;
        start = i;
        state = 'name';
        break;
      case 'name':
        if (isNameCharacter(code)) break;
        if (code !== EQUALS) return undefined;
        name = text.slice(start, i);
        state = 'openQuote';
        break;
      case 'openQuote':
        if (code !== QUOTE) return undefined;
        start = i + 1;
        state = 'value';
        break;
      case 'value':
        if (code !== QUOTE) break;
        if (params.has(name)) return undefined;
        params.set(name, text.slice(start, i));
        state = 'commaOrSpace';
        break;
      case 'commaOrSpace':
        if (code === SPACE) break;
        if (code !== COMMA) return undefined;
        state = 'nameOrSpace';
        break;
    }
  }
  return state === 'commaOrSpace' ? params : undefined;
}

/**
 * Reads an `Authorization` header; `undefined` unless it has the scheme and all five parameters.
 * A header longer than {@link WECHATPAY_AUTHORIZATION_MAX_LENGTH} is refused before it is parsed.
 */
export function parseWechatpayAuthorization(
  header: string | undefined,
  onCharacter?: () => void,
): WechatpayAuthorization | undefined {
  if (header === undefined || header.length > WECHATPAY_AUTHORIZATION_MAX_LENGTH) return undefined;
  if (!header.startsWith(`${WECHATPAY_SIGNATURE_TYPE} `)) return undefined;
  const params = parseQuotedParameters(header.slice(WECHATPAY_SIGNATURE_TYPE.length + 1), onCharacter);
  if (params === undefined) return undefined;
  const mchid = params.get('mchid');
  const nonce = params.get('nonce_str');
  const timestamp = params.get('timestamp');
  const serial = params.get('serial_no');
  const signature = params.get('signature');
  if (!mchid || !nonce || !timestamp || !serial || !signature) return undefined;
  return { mchid, nonce_str: nonce, timestamp, serial_no: serial, signature };
}

/** WeChat Pay's keys by serial (platform certificate serial or `PUB_KEY_ID_...`). */
export type WechatpayKeys = ReadonlyMap<string, KeyObject>;

export function wechatpayKeysOf(platformKeys: Keyring['wechatpay']['platformKeys']): WechatpayKeys {
  return new Map(platformKeys.map((key) => [key.serial, createPublicKey(key.publicKey)]));
}

/**
 * Checks a WeChat Pay signature (`Wechatpay-*` headers, lower-cased names) over the raw body.
 * Answers `undefined` when it holds, else why not: `missing_signature`, `oversized_header` (longer
 * than {@link WECHATPAY_HEADER_MAX_LENGTH}), `unsupported_sign_type`, `unknown_serial` (fail
 * closed: no key with that serial), `bad_signature`, `stale_timestamp` (more than
 * {@link WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS} from `now`).
 */
export function checkWechatpaySignature(
  headers: Readonly<Record<string, string | undefined>>,
  body: Buffer,
  keys: WechatpayKeys,
  now: Date = new Date(),
): string | undefined {
  const serial = headers['wechatpay-serial'];
  const signature = headers['wechatpay-signature'];
  const timestamp = headers['wechatpay-timestamp'];
  const nonce = headers['wechatpay-nonce'];
  const signatureType = headers['wechatpay-signature-type'];
  if (!serial || !signature || !timestamp || !nonce) return 'missing_signature';
  if ([serial, signature, timestamp, nonce, signatureType ?? ''].some((v) => v.length > WECHATPAY_HEADER_MAX_LENGTH)) {
    return 'oversized_header';
  }
  if (signatureType !== undefined && signatureType !== WECHATPAY_SIGNATURE_TYPE) return 'unsupported_sign_type';
  const key = keys.get(serial);
  if (key === undefined) return 'unknown_serial';
  if (!verifyRsa2(wechatpayMessage(timestamp, nonce, body), signature, key)) return 'bad_signature';
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(now.getTime() / 1000 - seconds) <= WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS)) return 'stale_timestamp';
  return undefined;
}

export interface WechatpayResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
  original_type?: string;
}

/**
 * Decrypts a notification resource: AES-256-GCM with the 32-byte APIv3 key, the resource's
 * nonce, `associated_data` as AAD and the 16-byte tag at the end of the base64 ciphertext.
 * Throws if the tag does not authenticate (wrong key, nonce or AAD, altered ciphertext).
 */
export function decryptWechatpayResource(resource: WechatpayResource, apiV3Key: string): string {
  if (resource.algorithm !== 'AEAD_AES_256_GCM') throw new Error(`unsupported algorithm ${resource.algorithm}`);
  const sealed = Buffer.from(resource.ciphertext, 'base64');
  if (sealed.length <= 16) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(resource.nonce, 'utf8'), {
    authTagLength: 16,
  });
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(source: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = source?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** WeChat Pay counts description length in characters; cut without splitting a surrogate pair. */
function truncate(value: string, max: number): string {
  const chars = [...value];
  return chars.length <= max ? value : chars.slice(0, max).join('');
}

/**
 * `trade_state` in our terms. REFUND means "went into refund": WeChat Pay reports it after any
 * refund, partial or full.
 */
function tradeStateOf(tradeState: string | undefined): ChannelTradeState | undefined {
  switch (tradeState) {
    case 'SUCCESS':
      return 'PAID';
    case 'REFUND':
      return 'REFUNDED';
    case 'NOTPAY':
    case 'USERPAYING':
    case 'PAYERROR':
      return 'NOT_PAID';
    case 'CLOSED':
    case 'REVOKED':
      return 'CLOSED';
    default:
      return undefined;
  }
}

/**
 * A refund `status` in our terms: SUCCESS is SUCCEEDED, CLOSED is a final FAILED, PROCESSING and
 * ABNORMAL are not final (an ABNORMAL refund holds the money until it is sent to another account),
 * ABNORMAL keeping its name as the reason. `undefined` for anything else.
 */
function refundStatusOf(status: string | undefined): Pick<RefundOutcome, 'status' | 'reason'> | undefined {
  switch (status) {
    case 'SUCCESS':
      return { status: 'SUCCEEDED' };
    case 'PROCESSING':
      return { status: 'PROCESSING' };
    case 'ABNORMAL':
      return { status: 'PROCESSING', reason: 'ABNORMAL' };
    case 'CLOSED':
      return { status: 'FAILED', reason: 'CLOSED' };
    default:
      return undefined;
  }
}

function refundOutcomeOf(body: Record<string, unknown>): RefundOutcome {
  const outcome = refundStatusOf(text(body, 'status'));
  if (outcome === undefined) {
    throw new ChannelRejectedError('WeChat Pay answered an unknown refund status', 'malformed_response');
  }
  const channelRefundId = text(body, 'refund_id');
  return { ...outcome, ...(channelRefundId === undefined ? {} : { channelRefundId }) };
}

/** The refund event types, each with the `refund_status` its resource must carry. */
const REFUND_EVENT_STATUS: Readonly<Record<string, string>> = {
  'REFUND.SUCCESS': 'SUCCESS',
  'REFUND.ABNORMAL': 'ABNORMAL',
  'REFUND.CLOSED': 'CLOSED',
};

export interface WechatPayAdapterOptions {
  /** API base, for example `https://api.mch.weixin.qq.com`; paths `/v3/...` are appended. */
  baseUrl: string;
  keyring: ApiKeyring['wechatpay'];
  /** Timeout of each call, in milliseconds. */
  timeoutMs: number;
  /** Largest amount this channel takes, in minor units (fen). */
  maxAmount: number;
}

interface WechatpayAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

export function createWechatPayAdapter(options: WechatPayAdapterOptions): ChannelAdapter {
  const { keyring, timeoutMs, maxAmount } = options;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const platformKeys = wechatpayKeysOf(keyring.platformKeys);

  /** One signed call; answers status and parsed body once WeChat Pay's signature on it holds. */
  async function call(method: 'GET' | 'POST', path: string, payload?: unknown): Promise<WechatpayAnswer> {
    const url = new URL(`${baseUrl}${path}`);
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const headers: Record<string, string> = {
      authorization: wechatpayAuthorization(keyring, method, `${url.pathname}${url.search}`, body),
      accept: 'application/json',
      'user-agent': 'knowledge-pay',
    };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await channelFetch(
      url.toString(),
      { method, headers, ...(payload === undefined ? {} : { body }) },
      timeoutMs,
    );
    const raw = Buffer.from(await res.arrayBuffer());
    const responseHeaders: Record<string, string | undefined> = {};
    res.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    const problem = checkWechatpaySignature(responseHeaders, raw, platformKeys);
    if (problem !== undefined) {
      throw new ChannelRejectedError(
        `WeChat Pay's HTTP ${res.status} answer to ${method} ${path.split('?')[0]} failed verification (${problem})`,
        'bad_response_signature',
      );
    }
    if (raw.length === 0) return { status: res.status, body: undefined };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed)) {
      throw new ChannelRejectedError(`WeChat Pay's answer to ${method} is not a JSON object`, 'malformed_response');
    }
    return { status: res.status, body: parsed };
  }

  function refused(what: string, answer: WechatpayAnswer): ChannelRejectedError {
    const code = text(answer.body, 'code') ?? `http_${answer.status}`;
    return new ChannelRejectedError(
      `WeChat Pay refused ${what}: HTTP ${answer.status} ${code} ${text(answer.body, 'message') ?? ''}`.trim(),
      code,
    );
  }

  function supports(currency: Currency, amount: number): boolean {
    return currency === CURRENCY && Number.isSafeInteger(amount) && amount >= 1 && amount <= maxAmount;
  }

  const orderPath = (paymentId: string) => `/v3/pay/transactions/out-trade-no/${encodeURIComponent(paymentId)}`;

  /** Business refusals of a refund are outcomes; refusals of our credentials are errors. */
  function refundRefusal(what: string, answer: WechatpayAnswer): RefundOutcome {
    if (answer.status === 401 || answer.status === 403) throw refused(what, answer);
    const code = text(answer.body, 'code') ?? `http_${answer.status}`;
    return { status: 'FAILED', reason: `${code}: ${text(answer.body, 'message') ?? 'no message'}` };
  }

  /** The decrypted resource of a notification as an object, or why it is not one. */
  function decryptedResource(resource: Record<string, unknown>): Record<string, unknown> | string {
    const algorithm = text(resource, 'algorithm');
    const ciphertext = text(resource, 'ciphertext');
    const nonce = text(resource, 'nonce');
    if (algorithm !== 'AEAD_AES_256_GCM') return 'unsupported_algorithm';
    if (ciphertext === undefined || nonce === undefined) return 'malformed_body';
    const associatedData = resource.associated_data;
    let plaintext: unknown;
    try {
      plaintext = JSON.parse(
        decryptWechatpayResource(
          {
            algorithm,
            ciphertext,
            nonce,
            ...(typeof associatedData === 'string' ? { associated_data: associatedData } : {}),
          },
          keyring.apiV3Key,
        ),
      );
    } catch {
      return 'decrypt_failed';
    }
    return isRecord(plaintext) ? plaintext : 'malformed_body';
  }

  function failure(reason: string, outTradeNo: string | undefined): VerificationResult {
    return { ok: false, reason, ...(outTradeNo === undefined ? {} : { outTradeNo }) };
  }

  /** A `TRANSACTION.SUCCESS` resource (the transaction) as a payment notification. */
  function paymentOf(notificationId: string, transaction: Record<string, unknown>): VerificationResult {
    const outTradeNo = text(transaction, 'out_trade_no');
    const fail = (reason: string) => failure(reason, outTradeNo);
    const channelTradeNo = text(transaction, 'transaction_id');
    const merchantId = text(transaction, 'mchid');
    const appId = text(transaction, 'appid');
    if (outTradeNo === undefined || channelTradeNo === undefined || merchantId === undefined || appId === undefined) {
      return fail('malformed_body');
    }
    const amountField = transaction.amount;
    const amount = isRecord(amountField) ? fenToMinor(amountField.total) : undefined;
    if (amount === undefined) return fail('bad_amount');
    if (isRecord(amountField) && amountField.currency !== undefined && amountField.currency !== CURRENCY) {
      return fail('bad_currency');
    }
    const state = tradeStateOf(text(transaction, 'trade_state'));
    if (state === undefined) return fail('unknown_trade_state');
    const paidAt = parseWechatpayTime(text(transaction, 'success_time'));
    return {
      ok: true,
      kind: 'payment',
      notification: {
        channel: 'wechatpay',
        notificationId,
        outTradeNo,
        channelTradeNo,
        state,
        amount,
        currency: CURRENCY,
        merchantId,
        appId,
        ...(paidAt === undefined ? {} : { paidAt: paidAt.toISOString() }),
      },
    };
  }

  /**
   * A `REFUND.*` resource as a refund notification. Its `refund_status` must be the one the
   * (signed) event type names, else it fails closed: `mismatched_refund_status`. The amount is
   * `amount.refund`.
   */
  function refundOf(
    notificationId: string,
    expectedStatus: string,
    resource: Record<string, unknown>,
  ): VerificationResult {
    const outTradeNo = text(resource, 'out_trade_no');
    const fail = (reason: string) => failure(reason, outTradeNo);
    const refundId = text(resource, 'out_refund_no');
    const merchantId = text(resource, 'mchid');
    if (outTradeNo === undefined || refundId === undefined || merchantId === undefined) return fail('malformed_body');
    const status = text(resource, 'refund_status');
    if (status !== expectedStatus) return fail('mismatched_refund_status');
    const outcome = refundStatusOf(status);
    if (outcome === undefined) return fail('mismatched_refund_status');
    const amountField = resource.amount;
    const amount = isRecord(amountField) ? fenToMinor(amountField.refund) : undefined;
    if (amount === undefined) return fail('bad_amount');
    if (isRecord(amountField) && amountField.currency !== undefined && amountField.currency !== CURRENCY) {
      return fail('bad_currency');
    }
    const channelRefundId = text(resource, 'refund_id');
    const refund: ChannelRefundNotification = {
      channel: 'wechatpay',
      notificationId,
      outTradeNo,
      refundId,
      ...(channelRefundId === undefined ? {} : { channelRefundId }),
      status: outcome.status,
      amount,
      currency: CURRENCY,
      merchantId,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    };
    return { ok: true, kind: 'refund', refund };
  }

  return {
    channel: 'wechatpay',
    supports,

    /**
     * `POST /v3/pay/transactions/native`; `payUrl` is the answered `code_url`. Idempotent by
     * `out_trade_no`: the same order again answers the same `code_url`.
     */
    async createOrder(request: CreateChannelOrderRequest): Promise<ChannelOrder> {
      if (!supports(request.currency, request.amount)) {
        throw new ChannelRejectedError('WeChat Pay does not take this currency or amount', 'unsupported_amount');
      }
      const expiresAt = new Date(request.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) {
        throw new ChannelRejectedError('expiresAt is not an ISO-8601 instant', 'invalid_expiry');
      }
      const answer = await call('POST', '/v3/pay/transactions/native', {
        appid: keyring.appId,
        mchid: keyring.mchId,
        description: truncate(request.subject, 127),
        out_trade_no: request.paymentId,
        time_expire: formatWechatpayTime(expiresAt),
        notify_url: request.notifyUrl,
        amount: { total: minorToFen(request.amount, request.currency), currency: CURRENCY },
      });
      const codeUrl = text(answer.body, 'code_url');
      if (answer.status === 200 && codeUrl !== undefined) {
        return { channel: 'wechatpay', payUrl: codeUrl, merchantId: keyring.mchId };
      }
      const code = text(answer.body, 'code');
      if (code === 'ORDERPAID')
        throw new ChannelRejectedError('WeChat Pay already holds this order as paid', 'already_paid');
      if (code === 'ORDER_CLOSED') {
        throw new ChannelRejectedError('WeChat Pay already holds this order as closed', 'order_closed');
      }
      throw refused('the order', answer);
    },

    /** `GET /v3/pay/transactions/out-trade-no/{out_trade_no}`; 404 ORDER_NOT_EXIST is NOT_FOUND. */
    async queryOrder(paymentId: string): Promise<ChannelTrade> {
      const answer = await call('GET', `${orderPath(paymentId)}?mchid=${encodeURIComponent(keyring.mchId)}`);
      if (answer.status === 404 && text(answer.body, 'code') === 'ORDER_NOT_EXIST') return { state: 'NOT_FOUND' };
      if (answer.status !== 200 || answer.body === undefined) throw refused('the query', answer);
      if (text(answer.body, 'out_trade_no') !== paymentId) {
        throw new ChannelRejectedError('WeChat Pay answered a query about another order', 'mismatched_response');
      }
      const state = tradeStateOf(text(answer.body, 'trade_state'));
      if (state === undefined) {
        throw new ChannelRejectedError('WeChat Pay answered an unknown trade_state', 'unknown_trade_state');
      }
      const amountField = answer.body.amount;
      const amount = isRecord(amountField) ? fenToMinor(amountField.total) : undefined;
      const channelTradeNo = text(answer.body, 'transaction_id');
      const paidAt = parseWechatpayTime(text(answer.body, 'success_time'));
      return {
        state,
        ...(channelTradeNo === undefined ? {} : { channelTradeNo }),
        ...(amount === undefined ? {} : { amount, currency: CURRENCY }),
        ...(paidAt === undefined ? {} : { paidAt: paidAt.toISOString() }),
      };
    },

    /** `POST .../out-trade-no/{out_trade_no}/close` (204); ORDERPAID is ALREADY_PAID. */
    async closeOrder(paymentId: string): Promise<CloseResult> {
      const answer = await call('POST', `${orderPath(paymentId)}/close`, { mchid: keyring.mchId });
      if (answer.status === 204 || answer.status === 200) return 'CLOSED';
      const code = text(answer.body, 'code');
      if (code === 'ORDERPAID') return 'ALREADY_PAID';
      if (code === 'ORDER_CLOSED') return 'CLOSED';
      if (code === 'ORDER_NOT_EXIST') return 'NOT_FOUND';
      throw refused('to close the order', answer);
    },

    /**
     * `POST /v3/refund/domestic/refunds` with `out_refund_no` = the refund id: a retry answers
     * the first refund, never a second one. WeChat Pay usually answers PROCESSING: the outcome
     * arrives as a `REFUND.*` notification at `notifyUrl` (when given) or by {@link queryRefund}.
     * Business refusals come back as FAILED with WeChat Pay's code and message.
     */
    async refund(request: RefundRequest): Promise<RefundOutcome> {
      const answer = await call('POST', '/v3/refund/domestic/refunds', {
        out_trade_no: request.paymentId,
        out_refund_no: request.refundId,
        reason: truncate(request.reason, 80),
        ...(request.notifyUrl === undefined ? {} : { notify_url: request.notifyUrl }),
        amount: {
          refund: minorToFen(request.amount, request.currency),
          total: minorToFen(request.totalAmount, request.currency),
          currency: CURRENCY,
        },
      });
      if (answer.status === 200 && answer.body !== undefined) return refundOutcomeOf(answer.body);
      return refundRefusal('the refund', answer);
    },

    /** `GET /v3/refund/domestic/refunds/{out_refund_no}`; FAILED when WeChat Pay holds no such refund. */
    async queryRefund(_paymentId: string, refundId: string): Promise<RefundOutcome> {
      const answer = await call('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(refundId)}`);
      if (answer.status === 200 && answer.body !== undefined) return refundOutcomeOf(answer.body);
      return refundRefusal('the refund query', answer);
    },

    /**
     * Verifies the signature over the raw body first (key chosen by `Wechatpay-Serial`, 300 s
     * timestamp tolerance), then decrypts the resource. `TRANSACTION.SUCCESS` is a payment;
     * `REFUND.SUCCESS | REFUND.ABNORMAL | REFUND.CLOSED` is a refund whose `refund_status` must
     * agree with the event type. Amounts are fen, returned as minor units.
     */
    verifyNotification(raw: RawCallback): VerificationResult {
      const problem = checkWechatpaySignature(raw.headers, raw.body, platformKeys);
      if (problem !== undefined) return { ok: false, reason: problem };
      let envelope: unknown;
      try {
        envelope = JSON.parse(raw.body.toString('utf8'));
      } catch {
        return { ok: false, reason: 'malformed_body' };
      }
      const resource = isRecord(envelope) ? envelope.resource : undefined;
      const notificationId = isRecord(envelope) ? text(envelope, 'id') : undefined;
      if (!isRecord(resource) || notificationId === undefined) return { ok: false, reason: 'malformed_body' };
      const eventType = isRecord(envelope) ? text(envelope, 'event_type') : undefined;
      const refundStatus = eventType === undefined ? undefined : REFUND_EVENT_STATUS[eventType];
      if (eventType !== 'TRANSACTION.SUCCESS' && refundStatus === undefined) {
        return { ok: false, reason: 'unsupported_event_type' };
      }
      const decrypted = decryptedResource(resource);
      if (typeof decrypted === 'string') return { ok: false, reason: decrypted };
      return refundStatus === undefined
        ? paymentOf(notificationId, decrypted)
        : refundOf(notificationId, refundStatus, decrypted);
    },

    /** HTTP 204, no body: WeChat Pay stops resending. */
    ackSuccess(): ChannelAck {
      return { status: 204, contentType: 'text/plain', body: '' };
    },

    /**
     * HTTP 400 `{"code":"FAIL","message":"失败"}`: WeChat Pay resends on its schedule. The same
     * answer whatever the reason, which stays in our records: the caller may be anyone.
     */
    ackFailure(_reason: string): ChannelAck {
      return { status: 400, contentType: 'application/json', body: FAILURE_ACK_BODY };
    },
  };
}
