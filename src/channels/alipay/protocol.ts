import type { ApiKeyring } from '../../crypto/keyring.js';
import { type Currency, formatMajor, isCurrency } from '../../../domain/money.js';
import { isRecord } from '../fields.js';
import { signSha256Rsa, verifySha256Rsa } from '../rsa.js';
import { ChannelRejectedError, merchantSigningKey } from '../types.js';

/**
 * Alipay open-platform wire format (`alipay.trade.*`, RSA2): request signing, the signing strings
 * of requests and notifications, Alipay's clock, and opening the gateway's signed answers. See
 * PROTOCOLS.md.
 */

export type AlipayMethod =
  | 'alipay.trade.precreate'
  | 'alipay.trade.page.pay'
  | 'alipay.trade.query'
  | 'alipay.trade.close'
  | 'alipay.trade.refund'
  | 'alipay.trade.fastpay.refund.query'
  | 'alipay.data.dataservice.bill.downloadurl.query';

/** Gateway answer codes: success, service unavailable (retry), business refusal. */
export const ALIPAY_SUCCESS = '10000';
export const ALIPAY_UNAVAILABLE = '20000';
export const ALIPAY_BUSINESS_FAILED = '40004';
/** Business sub-codes that mean "try again", not "no". */
export const ALIPAY_RETRYABLE_SUB_CODES = new Set([
  'ACQ.SYSTEM_ERROR',
  'ACQ.INVALID_PARAMETER_RETRY',
  'isp.unknow-error',
]);

/**
 * The merchant account's currency: a domestic trade is priced in it, and a cross-border one
 * (跨境收单) is paid by the buyer and settled to the merchant in it.
 */
export const ALIPAY_ACCOUNT_CURRENCY: Currency = 'CNY';

/**
 * The fields that price a trade (`alipay.trade.precreate`, `page.pay`): `total_amount` in the
 * trade's currency and, in Alipay's cross-border mode (any currency but CNY), `trans_currency`
 * naming it and `settle_currency` CNY. A CNY trade carries `total_amount` alone, as before.
 */
export function alipayPriceFields(amount: number, currency: Currency): Record<string, string> {
  const totalAmount = formatMajor(amount, currency);
  return currency === ALIPAY_ACCOUNT_CURRENCY
    ? { total_amount: totalAmount }
    : { total_amount: totalAmount, trans_currency: currency, settle_currency: ALIPAY_ACCOUNT_CURRENCY };
}

/**
 * The fields of a refund's amount (`alipay.trade.refund`): `refund_amount` in the trade's currency
 * and, for a cross-border trade, `refund_currency` naming it.
 */
export function alipayRefundAmountFields(amount: number, currency: Currency): Record<string, string> {
  const refundAmount = formatMajor(amount, currency);
  return currency === ALIPAY_ACCOUNT_CURRENCY
    ? { refund_amount: refundAmount }
    : { refund_amount: refundAmount, refund_currency: currency };
}

/**
 * The currency a trade's `total_amount` is in, from its `trans_currency` (an answer's or a
 * notification's): absent or empty means a domestic trade, CNY. `undefined` for a code this
 * product does not know.
 */
export function alipayTradeCurrencyOf(transCurrency: string | undefined): Currency | undefined {
  if (transCurrency === undefined || transCurrency === '') return ALIPAY_ACCOUNT_CURRENCY;
  return isCurrency(transCurrency) ? transCurrency : undefined;
}

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
  params.sign = signSha256Rsa(alipaySigningString(params), merchantSigningKey(merchant.merchantPrivateKey));
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
  if (typeof signatureText !== 'string' || !verifySha256Rsa(source, signatureText, alipayPublicKey)) {
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
