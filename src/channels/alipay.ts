import { sign, verify, type KeyObject } from 'node:crypto';
import type { ApiKeyring } from '../crypto/keyring.js';
import type { ChannelTradeState } from '../../domain/payment.js';
import { type Currency, formatMajor, parseMajor } from '../../domain/money.js';
import { channelFetch } from './http.js';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAck,
  type ChannelAdapter,
  type ChannelOrder,
  type ChannelTrade,
  type CloseResult,
  type CreateChannelOrderRequest,
  type RawCallback,
  type RefundOutcome,
  type RefundRequest,
  type VerificationResult,
  merchantSigningKey,
} from './types.js';

/**
 * Alipay open-platform adapter (`alipay.trade.*`, RSA2). Requests are form posts to the gateway
 * signed with the merchant key; answers are JSON whose `*_response` member is signed by Alipay
 * and verified here before anything in it is used. See PROTOCOLS.md.
 */

export type AlipayMethod =
  | 'alipay.trade.precreate'
  | 'alipay.trade.page.pay'
  | 'alipay.trade.query'
  | 'alipay.trade.close'
  | 'alipay.trade.refund'
  | 'alipay.trade.fastpay.refund.query';

/** Gateway answer codes: success, service unavailable (retry), business refusal. */
export const ALIPAY_SUCCESS = '10000';
const ALIPAY_UNAVAILABLE = '20000';
const ALIPAY_BUSINESS_FAILED = '40004';
/** Business sub-codes that mean "try again", not "no". */
const RETRYABLE_SUB_CODES = new Set(['ACQ.SYSTEM_ERROR', 'ACQ.INVALID_PARAMETER_RETRY', 'isp.unknow-error']);

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;
const ALIPAY_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Alipay's clock format: `yyyy-MM-dd HH:mm:ss` in Asia/Shanghai (UTC+8, no daylight saving). */
export function formatAlipayTime(at: Date): string {
  return new Date(at.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** Reads an Alipay `yyyy-MM-dd HH:mm:ss` (Asia/Shanghai); `undefined` unless it names a real instant. */
export function parseAlipayTime(text: string): Date | undefined {
  const m = ALIPAY_TIME.exec(text);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`);
  return Number.isNaN(at.getTime()) || formatAlipayTime(at) !== text ? undefined : at;
}

/**
 * The string a merchant signs a request over: every parameter with a non-empty value except `sign`,
 * sorted by name, joined as `k=v` with `&`, values as they are (not URL-encoded).
 */
export function alipaySigningString(params: Readonly<Record<string, string | undefined>>): string {
  return signingString(params, ['sign'], (value) => value !== '');
}

/**
 * The string Alipay signs a notification over: every parameter it carries except `sign` and
 * `sign_type`, empty values included (as Alipay's own SDKs check it), sorted by name, joined as
 * `k=v` with `&`, values as they are.
 */
export function alipayNotificationSigningString(params: Readonly<Record<string, string | undefined>>): string {
  return signingString(params, ['sign', 'sign_type'], () => true);
}

function signingString(
  params: Readonly<Record<string, string | undefined>>,
  exclude: readonly string[],
  keep: (value: string) => boolean,
): string {
  return Object.keys(params)
    .filter((key) => {
      const value = params[key];
      return !exclude.includes(key) && value !== undefined && keep(value);
    })
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
}

/** RSA2: SHA256withRSA (PKCS#1 v1.5), base64. */
export function signRsa2(content: string, privateKeyPem: string): string {
  return sign('sha256', Buffer.from(content, 'utf8'), privateKeyPem).toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Longest signature looked at: an RSA-4096 signature is 684 base64 characters. */
const SIGNATURE_MAX_LENGTH = 1024;

/**
 * Verifies an RSA2 (SHA256withRSA, PKCS#1 v1.5) signature, as Alipay and WeChat Pay both use.
 * The signature must be canonical base64: a lenient decode would let altered bytes pass.
 * `false` for anything malformed or longer than any RSA signature; never throws.
 */
export function verifyRsa2(content: string | Buffer, signature: string, publicKey: string | KeyObject): boolean {
  if (signature === '' || signature.length > SIGNATURE_MAX_LENGTH || !BASE64.test(signature)) return false;
  try {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    return verify('sha256', data, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * A merchant request with its common parameters, signed: the form posted to the gateway (and,
 * for `alipay.trade.page.pay`, the query string the payer's browser opens).
 */
export function signedAlipayRequest(
  merchant: Pick<ApiKeyring['alipay'], 'appId' | 'merchantPrivateKey'>,
  method: AlipayMethod,
  bizContent: Readonly<Record<string, string>>,
  options: { now?: Date; notifyUrl?: string } = {},
): Record<string, string> {
  const params: Record<string, string> = {
    app_id: merchant.appId,
    method,
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: formatAlipayTime(options.now ?? new Date()),
    version: '1.0',
    ...(options.notifyUrl === undefined ? {} : { notify_url: options.notifyUrl }),
    biz_content: JSON.stringify(bizContent),
  };
  params.sign = signRsa2(alipaySigningString(params), merchantSigningKey(merchant.merchantPrivateKey));
  return params;
}

/** The member of an answer named after the method: `alipay.trade.query` -> `alipay_trade_query_response`. */
export function alipayResponseKey(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/** What the gateway answers inside the signed `*_response` member. */
export interface AlipayResponse {
  code: string;
  msg: string;
  sub_code?: string;
  sub_msg?: string;
  [field: string]: unknown;
}

/**
 * Opens a gateway answer: finds the `*_response` member (or `error_response`) at the top level,
 * verifies Alipay's signature over its exact text, and parses that same text, so what is used is
 * exactly what was signed. Throws {@link ChannelRejectedError} (`bad_response_signature`,
 * `malformed_response`) otherwise.
 */
export function openAlipayResponse(text: string, method: AlipayMethod, alipayPublicKey: string): AlipayResponse {
  const members = topLevelMembers(text);
  const source = members?.get(alipayResponseKey(method)) ?? members?.get('error_response');
  if (members === undefined || source === undefined) {
    throw new ChannelRejectedError(`Alipay's answer to ${method} is not a gateway response`, 'malformed_response');
  }
  const signature = members.get('sign');
  let signatureText: unknown;
  try {
    signatureText = signature === undefined ? undefined : JSON.parse(signature);
  } catch {
    signatureText = undefined;
  }
  if (typeof signatureText !== 'string' || !verifyRsa2(source, signatureText, alipayPublicKey)) {
    throw new ChannelRejectedError(
      `Alipay's answer to ${method} does not carry a valid Alipay signature`,
      'bad_response_signature',
    );
  }
  const response: unknown = JSON.parse(source);
  if (!isRecord(response) || typeof response.code !== 'string' || typeof response.msg !== 'string') {
    throw new ChannelRejectedError(`Alipay's answer to ${method} has no code`, 'malformed_response');
  }
  return response as AlipayResponse;
}

/**
 * Splits a JSON object's top level into member name -> exact value text, without reparsing the
 * values. `undefined` for anything that is not a well-formed JSON object at the top.
 */
function topLevelMembers(text: string): Map<string, string> | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  const members = new Map<string, string>();
  let i = skipWhitespace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipWhitespace(text, i + 1);
  if (text[i] === '}') return members;
  for (;;) {
    if (text[i] !== '"') return undefined;
    const keyEnd = endOfString(text, i);
    if (keyEnd === undefined) return undefined;
    const key: unknown = JSON.parse(text.slice(i, keyEnd));
    i = skipWhitespace(text, keyEnd);
    if (text[i] !== ':') return undefined;
    const valueStart = skipWhitespace(text, i + 1);
    const valueEnd = endOfValue(text, valueStart);
    if (valueEnd === undefined || typeof key !== 'string') return undefined;
    members.set(key, text.slice(valueStart, valueEnd));
    i = skipWhitespace(text, valueEnd);
    if (text[i] === '}') break;
    if (text[i] !== ',') return undefined;
    i = skipWhitespace(text, i + 1);
  }
  return members;
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i += 1;
  return i;
}

/** Index just past the string literal starting at `from` (which is a `"`). */
function endOfString(text: string, from: number): number | undefined {
  for (let i = from + 1; i < text.length; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i + 1;
  }
  return undefined;
}

function endOfValue(text: string, from: number): number | undefined {
  const first = text[from];
  if (first === undefined) return undefined;
  if (first === '"') return endOfString(text, from);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let i = from; i < text.length; i += 1) {
      const c = text[i];
      if (c === '"') {
        const end = endOfString(text, i);
        if (end === undefined) return undefined;
        i = end - 1;
      } else if (c === '{' || c === '[') depth += 1;
      else if (c === '}' || c === ']') {
        depth -= 1;
        if (depth === 0) return i + 1;
      }
    }
    return undefined;
  }
  let i = from;
  while (i < text.length && !',}] \t\n\r'.includes(text[i] as string)) i += 1;
  return i > from ? i : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(source: Record<string, unknown>, name: string): string | undefined {
  const value = source[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Cuts text to `max` characters without splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

/** Alipay's trade status in our terms. A paid trade only closes by being refunded in full. */
function tradeStateOf(tradeStatus: string | undefined, wasPaid: boolean): ChannelTradeState | undefined {
  switch (tradeStatus) {
    case 'WAIT_BUYER_PAY':
      return 'NOT_PAID';
    case 'TRADE_SUCCESS':
    case 'TRADE_FINISHED':
      return 'PAID';
    case 'TRADE_CLOSED':
      return wasPaid ? 'REFUNDED' : 'CLOSED';
    default:
      return undefined;
  }
}

export interface AlipayAdapterOptions {
  /** The gateway, for example `https://openapi.alipay.com/gateway.do`. */
  gatewayUrl: string;
  keyring: ApiKeyring['alipay'];
  /** Timeout of each call to the gateway, in milliseconds. */
  timeoutMs: number;
  /** Largest amount this channel takes, in minor units (fen). */
  maxAmount: number;
  /** When set, used as `notify_url` instead of the one in each create request. */
  notifyUrl?: string;
  /**
   * How old a notification's signed `notify_time` may be, in seconds (`ALIPAY_NOTIFY_MAX_AGE_SECONDS`):
   * an older one is refused as `stale_notify_time`, a replay rather than a resend. Unset: not checked.
   */
  notifyMaxAgeSeconds?: number;
  /** The clock `notify_time` is held to. */
  now?: () => Date;
}

/** How far ahead of our clock a `notify_time` may be (the two clocks differ a little). */
export const ALIPAY_NOTIFY_CLOCK_SKEW_SECONDS = 300;

const CURRENCY: Currency = 'CNY';

export function createAlipayAdapter(options: AlipayAdapterOptions): ChannelAdapter {
  const { gatewayUrl, keyring, timeoutMs, maxAmount, notifyMaxAgeSeconds, now = () => new Date() } = options;

  /** Why a signed `notify_time` is not acceptable now, if it is not. */
  function notifyTimeProblem(notifyTime: string | undefined): string | undefined {
    if (notifyMaxAgeSeconds === undefined) return undefined;
    const sentAt = notifyTime === undefined ? undefined : parseAlipayTime(notifyTime);
    if (sentAt === undefined) return 'bad_notify_time';
    const ageSeconds = (now().getTime() - sentAt.getTime()) / 1000;
    return ageSeconds > notifyMaxAgeSeconds || ageSeconds < -ALIPAY_NOTIFY_CLOCK_SKEW_SECONDS
      ? 'stale_notify_time'
      : undefined;
  }

  /** Posts one signed request; answers the verified `*_response` with code 10000 or 40004. */
  async function call(
    method: AlipayMethod,
    bizContent: Record<string, string>,
    extra: { notifyUrl?: string } = {},
  ): Promise<{ response: AlipayResponse; params: Record<string, string> }> {
    const params = signedAlipayRequest(keyring, method, bizContent, extra);
    const res = await channelFetch(
      gatewayUrl,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
          accept: 'application/json',
        },
        body: new URLSearchParams(params).toString(),
      },
      timeoutMs,
    );
    if (res.status !== 200) {
      throw new ChannelRejectedError(`Alipay answered HTTP ${res.status} to ${method}`, 'unexpected_status');
    }
    const response = openAlipayResponse(await res.text(), method, keyring.alipayPublicKey);
    const detail = `${response.code} ${response.sub_code ?? response.msg}`;
    if (response.code === ALIPAY_UNAVAILABLE || RETRYABLE_SUB_CODES.has(response.sub_code ?? '')) {
      throw new ChannelUnavailableError(`Alipay could not serve ${method} now (${detail})`);
    }
    if (response.code !== ALIPAY_SUCCESS && response.code !== ALIPAY_BUSINESS_FAILED) {
      throw new ChannelRejectedError(`Alipay refused ${method} (${detail})`, response.sub_code ?? response.code);
    }
    return { response, params };
  }

  function refused(method: AlipayMethod, response: AlipayResponse): ChannelRejectedError {
    return new ChannelRejectedError(
      `Alipay refused ${method}: ${response.sub_msg ?? response.msg}`,
      response.sub_code ?? response.code,
    );
  }

  function supports(currency: Currency, amount: number): boolean {
    return currency === CURRENCY && Number.isSafeInteger(amount) && amount >= 1 && amount <= maxAmount;
  }

  async function queryOrder(paymentId: string): Promise<ChannelTrade> {
    const { response } = await call('alipay.trade.query', { out_trade_no: paymentId });
    if (response.code !== ALIPAY_SUCCESS) {
      if (response.sub_code === 'ACQ.TRADE_NOT_EXIST') return { state: 'NOT_FOUND' };
      throw refused('alipay.trade.query', response);
    }
    const outTradeNo = stringField(response, 'out_trade_no');
    if (outTradeNo !== undefined && outTradeNo !== paymentId) {
      throw new ChannelRejectedError('Alipay answered a query about another trade', 'mismatched_response');
    }
    const paidAt = parseAlipayTime(stringField(response, 'send_pay_date') ?? '');
    const state = tradeStateOf(stringField(response, 'trade_status'), paidAt !== undefined);
    if (state === undefined) {
      throw new ChannelRejectedError('Alipay answered an unknown trade_status', 'unknown_trade_status');
    }
    const totalAmount = stringField(response, 'total_amount');
    const amount = totalAmount === undefined ? undefined : parseMajor(totalAmount, CURRENCY);
    if (totalAmount !== undefined && amount === undefined) {
      throw new ChannelRejectedError('Alipay answered a malformed total_amount', 'bad_amount');
    }
    const channelTradeNo = stringField(response, 'trade_no');
    return {
      state,
      ...(channelTradeNo === undefined ? {} : { channelTradeNo }),
      ...(amount === undefined ? {} : { amount, currency: CURRENCY }),
      ...(paidAt === undefined ? {} : { paidAt: paidAt.toISOString() }),
    };
  }

  async function queryRefund(paymentId: string, refundId: string): Promise<RefundOutcome> {
    const method = 'alipay.trade.fastpay.refund.query';
    const { response } = await call(method, { out_trade_no: paymentId, out_request_no: refundId });
    if (response.code !== ALIPAY_SUCCESS) {
      if (response.sub_code === 'ACQ.TRADE_NOT_EXIST') return { status: 'FAILED', reason: 'ACQ.TRADE_NOT_EXIST' };
      throw refused(method, response);
    }
    // Only REFUND_SUCCESS is an answer. Alipay leaves refund_status out while the refund is
    // processing and when it was never received or failed: the three look the same, so the refund
    // stays PROCESSING and the caller keeps asking (re-sending the refund with the same
    // out_request_no is safe and covers "never received") until its own deadline.
    return stringField(response, 'refund_status') === 'REFUND_SUCCESS'
      ? { status: 'SUCCEEDED' }
      : { status: 'PROCESSING' };
  }

  return {
    channel: 'alipay',
    supports,

    /**
     * `alipay.trade.precreate`: a server-to-server create, so the channel holds the order from the
     * start (query and close find it before the payer arrives); its `qr_code` link is the `payUrl`.
     * Idempotent by `out_trade_no`: a retried create with the same amount answers the same order.
     */
    async createOrder(request: CreateChannelOrderRequest): Promise<ChannelOrder> {
      if (!supports(request.currency, request.amount)) {
        throw new ChannelRejectedError('Alipay does not take this currency or amount', 'unsupported_amount');
      }
      const expiresAt = new Date(request.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) {
        throw new ChannelRejectedError('expiresAt is not an ISO-8601 instant', 'invalid_expiry');
      }
      const method = 'alipay.trade.precreate';
      const { response } = await call(
        method,
        {
          out_trade_no: request.paymentId,
          total_amount: formatMajor(request.amount, CURRENCY),
          subject: truncate(request.subject, 256),
          time_expire: formatAlipayTime(expiresAt),
        },
        { notifyUrl: options.notifyUrl ?? request.notifyUrl },
      );
      if (response.code !== ALIPAY_SUCCESS) {
        if (response.sub_code === 'ACQ.TRADE_HAS_SUCCESS') {
          throw new ChannelRejectedError('Alipay already holds this trade as paid', 'already_paid');
        }
        if (response.sub_code === 'ACQ.TRADE_HAS_CLOSE') {
          throw new ChannelRejectedError('Alipay already holds this trade as closed', 'order_closed');
        }
        throw refused(method, response);
      }
      const qrCode = typeof response.qr_code === 'string' ? response.qr_code : undefined;
      if (!qrCode || !/^https?:\/\/\S+$/.test(qrCode)) {
        throw new ChannelRejectedError(
          'Alipay answered alipay.trade.precreate without a qr_code link',
          'malformed_response',
        );
      }
      return { channel: 'alipay', payUrl: qrCode, merchantId: keyring.sellerId };
    },

    /**
     * `alipay.trade.query`. TRADE_CLOSED means refunded in full when the trade was paid
     * (`send_pay_date` present), closed unpaid otherwise.
     */
    queryOrder,

    /**
     * `alipay.trade.close`. Alipay answers ACQ.TRADE_STATUS_ERROR for a trade it cannot close;
     * the trade is then queried to tell "already paid" from "already closed".
     */
    async closeOrder(paymentId: string): Promise<CloseResult> {
      const method = 'alipay.trade.close';
      const { response } = await call(method, { out_trade_no: paymentId });
      if (response.code === ALIPAY_SUCCESS) return 'CLOSED';
      if (response.sub_code === 'ACQ.TRADE_NOT_EXIST') return 'NOT_FOUND';
      if (response.sub_code !== 'ACQ.TRADE_STATUS_ERROR') throw refused(method, response);
      const trade = await queryOrder(paymentId);
      switch (trade.state) {
        case 'PAID':
        case 'REFUNDED':
          return 'ALREADY_PAID';
        case 'CLOSED':
        case 'NOT_FOUND':
          return trade.state;
        case 'NOT_PAID':
          throw new ChannelUnavailableError('Alipay refused to close a trade it still holds as unpaid');
      }
    },

    /**
     * `alipay.trade.refund` with `out_request_no` = the refund id. Alipay answers `fund_change: N`
     * when this call moved no money: the refund is still processing, or this is a retry of a refund
     * already made. The refund is then queried for its real status (PROCESSING until Alipay shows
     * REFUND_SUCCESS, see {@link queryRefund}).
     */
    async refund(request: RefundRequest): Promise<RefundOutcome> {
      if (request.currency !== CURRENCY || !Number.isSafeInteger(request.amount) || request.amount < 1) {
        throw new ChannelRejectedError('Alipay refunds positive CNY amounts only', 'unsupported_amount');
      }
      const method = 'alipay.trade.refund';
      const { response } = await call(method, {
        out_trade_no: request.paymentId,
        out_request_no: request.refundId,
        refund_amount: formatMajor(request.amount, CURRENCY),
        refund_reason: truncate(request.reason, 256),
      });
      if (response.code !== ALIPAY_SUCCESS) {
        return {
          status: 'FAILED',
          reason: `${response.sub_code ?? response.code}: ${response.sub_msg ?? response.msg}`,
        };
      }
      if (stringField(response, 'fund_change') === 'Y') return { status: 'SUCCEEDED' };
      return queryRefund(request.paymentId, request.refundId);
    },

    /**
     * `alipay.trade.fastpay.refund.query`: SUCCEEDED on REFUND_SUCCESS; PROCESSING while
     * `refund_status` is absent (processing, not received or failed: Alipay does not say which);
     * FAILED when Alipay holds no such trade.
     */
    queryRefund,

    /**
     * Verifies an asynchronous notification (form body): drops `sign` and `sign_type`, sorts the
     * rest and checks RSA2 with Alipay's public key, then holds the signed `notify_time` to
     * `notifyMaxAgeSeconds` (`stale_notify_time`), so a captured notification cannot be replayed
     * after Alipay's resends end. Amounts come back in minor units. `app_id` / `seller_id` are
     * returned for the caller to compare with its own.
     */
    verifyNotification(raw: RawCallback): VerificationResult {
      const fields: Record<string, string> = {};
      for (const [key, value] of new URLSearchParams(raw.body.toString('utf8'))) {
        if (Object.prototype.hasOwnProperty.call(fields, key)) return { ok: false, reason: 'malformed_body' };
        fields[key] = value;
      }
      const outTradeNo = fields.out_trade_no;
      const fail = (reason: string): VerificationResult => ({
        ok: false,
        reason,
        ...(outTradeNo ? { outTradeNo } : {}),
      });
      const signature = fields.sign;
      if (!signature) return fail('missing_signature');
      if (fields.sign_type !== 'RSA2') return fail('unsupported_sign_type');
      if (!verifyRsa2(alipayNotificationSigningString(fields), signature, keyring.alipayPublicKey)) {
        return fail('bad_signature');
      }
      const staleness = notifyTimeProblem(fields.notify_time);
      if (staleness !== undefined) return fail(staleness);
      const { notify_id: notificationId, trade_no: channelTradeNo, app_id: appId, seller_id: merchantId } = fields;
      if (!notificationId || !outTradeNo || !channelTradeNo || !appId || !merchantId || !fields.total_amount) {
        return fail('malformed_body');
      }
      const amount = parseMajor(fields.total_amount, CURRENCY);
      if (amount === undefined) return fail('bad_amount');
      const refundFee = fields.refund_fee === undefined ? 0 : parseMajor(fields.refund_fee, CURRENCY);
      if (refundFee === undefined) return fail('bad_amount');
      const state = tradeStateOf(fields.trade_status, refundFee > 0);
      if (state === undefined) return fail('unknown_trade_status');
      const paidAt = fields.gmt_payment === undefined ? undefined : parseAlipayTime(fields.gmt_payment);
      return {
        ok: true,
        kind: 'payment',
        notification: {
          channel: 'alipay',
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
    },

    /** Alipay stops resending only on a body of exactly `success`. */
    ackSuccess(): ChannelAck {
      return { status: 200, contentType: 'text/plain', body: 'success' };
    },

    /** Anything but `success` makes Alipay resend; the reason stays in our logs, not on the wire. */
    ackFailure(_reason: string): ChannelAck {
      return { status: 400, contentType: 'text/plain', body: 'fail' };
    },
  };
}
