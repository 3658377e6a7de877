import type { ApiKeyring } from '../../crypto/keyring.js';
import type { ChannelTradeState } from '../../../domain/payment.js';
import type { Currency } from '../../../domain/money.js';
import { isRecord, stringField, truncate } from '../fields.js';
import { channelFetch } from '../http.js';
import type { ChannelBill } from '../../../domain/reconciliation.js';
import { parseWechatpayBill } from './bill.js';
import {
  ChannelRejectedError,
  type ChannelAck,
  type LocallyVerifyingAdapter,
  type ChannelOrder,
  type ChannelTrade,
  type CloseResult,
  type ChannelRefundNotification,
  type CreateChannelOrderRequest,
  type RawCallback,
  type RefundOutcome,
  type RefundRequest,
  type VerificationResult,
} from '../types.js';
import {
  WECHATPAY_FAILURE_ACK_BODY,
  checkWechatpaySignature,
  decryptWechatpayResource,
  fenToMinor,
  formatWechatpayTime,
  minorToFen,
  parseWechatpayTime,
  wechatpayAuthorization,
  wechatpayKeysOf,
} from './protocol.js';

/**
 * WeChat Pay API v3 adapter (Native pay). Requests carry a `WECHATPAY2-SHA256-RSA2048`
 * Authorization signed with the merchant key; answers and notifications are signed by WeChat Pay
 * with the key named by `Wechatpay-Serial` and verified here, failing closed on an unknown serial
 * (key rotation). Amounts on the wire are integer fen. See PROTOCOLS.md.
 */

const CURRENCY: Currency = 'CNY';

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
  const outcome = refundStatusOf(stringField(body, 'status'));
  if (outcome === undefined) {
    throw new ChannelRejectedError('WeChat Pay answered an unknown refund status', 'malformed_response');
  }
  const channelRefundId = stringField(body, 'refund_id');
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

export function createWechatPayAdapter(options: WechatPayAdapterOptions): LocallyVerifyingAdapter {
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
    const code = stringField(answer.body, 'code') ?? `http_${answer.status}`;
    return new ChannelRejectedError(
      `WeChat Pay refused ${what}: HTTP ${answer.status} ${code} ${stringField(answer.body, 'message') ?? ''}`.trim(),
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
    const code = stringField(answer.body, 'code') ?? `http_${answer.status}`;
    return { status: 'FAILED', reason: `${code}: ${stringField(answer.body, 'message') ?? 'no message'}` };
  }

  /** The decrypted resource of a notification as an object, or why it is not one. */
  function decryptedResource(resource: Record<string, unknown>): Record<string, unknown> | string {
    const algorithm = stringField(resource, 'algorithm');
    const ciphertext = stringField(resource, 'ciphertext');
    const nonce = stringField(resource, 'nonce');
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
    const outTradeNo = stringField(transaction, 'out_trade_no');
    const fail = (reason: string) => failure(reason, outTradeNo);
    const channelTradeNo = stringField(transaction, 'transaction_id');
    const merchantId = stringField(transaction, 'mchid');
    const appId = stringField(transaction, 'appid');
    if (outTradeNo === undefined || channelTradeNo === undefined || merchantId === undefined || appId === undefined) {
      return fail('malformed_body');
    }
    const amountField = transaction.amount;
    const amount = isRecord(amountField) ? fenToMinor(amountField.total) : undefined;
    if (amount === undefined) return fail('bad_amount');
    if (isRecord(amountField) && amountField.currency !== undefined && amountField.currency !== CURRENCY) {
      return fail('bad_currency');
    }
    const state = tradeStateOf(stringField(transaction, 'trade_state'));
    if (state === undefined) return fail('unknown_trade_state');
    const paidAt = parseWechatpayTime(stringField(transaction, 'success_time'));
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
    const outTradeNo = stringField(resource, 'out_trade_no');
    const fail = (reason: string) => failure(reason, outTradeNo);
    const refundId = stringField(resource, 'out_refund_no');
    const merchantId = stringField(resource, 'mchid');
    if (outTradeNo === undefined || refundId === undefined || merchantId === undefined) return fail('malformed_body');
    const status = stringField(resource, 'refund_status');
    if (status !== expectedStatus) return fail('mismatched_refund_status');
    const outcome = refundStatusOf(status);
    if (outcome === undefined) return fail('mismatched_refund_status');
    const amountField = resource.amount;
    const amount = isRecord(amountField) ? fenToMinor(amountField.refund) : undefined;
    if (amount === undefined) return fail('bad_amount');
    if (isRecord(amountField) && amountField.currency !== undefined && amountField.currency !== CURRENCY) {
      return fail('bad_currency');
    }
    const channelRefundId = stringField(resource, 'refund_id');
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
     * `GET /v3/bill/tradebill` (signed answer: the URL and the file's SHA-1), then the gzip
     * download, whose answer is not signed: the hash from the signed answer vouches for it.
     */
    async downloadBill(date: string): Promise<ChannelBill> {
      const answer = await call('GET', `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL&tar_type=GZIP`);
      if (answer.status !== 200) {
        if (stringField(answer.body, 'code') === 'NO_STATEMENT_EXIST') {
          throw new ChannelRejectedError(`WeChat Pay has no bill for ${date} yet`, 'bill_not_ready');
        }
        throw refused('the trade bill', answer);
      }
      const downloadUrl = stringField(answer.body, 'download_url');
      const hashType = stringField(answer.body, 'hash_type') ?? '';
      const hashValue = stringField(answer.body, 'hash_value') ?? '';
      if (downloadUrl === undefined || !/^https?:\/\//.test(downloadUrl)) {
        throw new ChannelRejectedError('WeChat Pay answered no download_url', 'malformed_response');
      }
      const url = new URL(downloadUrl);
      const res = await channelFetch(
        url.toString(),
        {
          method: 'GET',
          headers: {
            authorization: wechatpayAuthorization(keyring, 'GET', `${url.pathname}${url.search}`, ''),
            'user-agent': 'knowledge-pay',
          },
        },
        timeoutMs,
      );
      if (res.status !== 200) {
        throw new ChannelRejectedError(`WeChat Pay's bill download answered HTTP ${res.status}`, 'unexpected_status');
      }
      const lines = parseWechatpayBill(new Uint8Array(await res.arrayBuffer()), hashType, hashValue);
      return { channel: 'wechatpay', date, lines };
    },

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
      const codeUrl = stringField(answer.body, 'code_url');
      if (answer.status === 200 && codeUrl !== undefined) {
        return { channel: 'wechatpay', payUrl: codeUrl, merchantId: keyring.mchId };
      }
      const code = stringField(answer.body, 'code');
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
      if (answer.status === 404 && stringField(answer.body, 'code') === 'ORDER_NOT_EXIST')
        return { state: 'NOT_FOUND' };
      if (answer.status !== 200 || answer.body === undefined) throw refused('the query', answer);
      if (stringField(answer.body, 'out_trade_no') !== paymentId) {
        throw new ChannelRejectedError('WeChat Pay answered a query about another order', 'mismatched_response');
      }
      const state = tradeStateOf(stringField(answer.body, 'trade_state'));
      if (state === undefined) {
        throw new ChannelRejectedError('WeChat Pay answered an unknown trade_state', 'unknown_trade_state');
      }
      const amountField = answer.body.amount;
      const amount = isRecord(amountField) ? fenToMinor(amountField.total) : undefined;
      const channelTradeNo = stringField(answer.body, 'transaction_id');
      const paidAt = parseWechatpayTime(stringField(answer.body, 'success_time'));
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
      const code = stringField(answer.body, 'code');
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
      const notificationId = isRecord(envelope) ? stringField(envelope, 'id') : undefined;
      if (!isRecord(resource) || notificationId === undefined) return { ok: false, reason: 'malformed_body' };
      const eventType = isRecord(envelope) ? stringField(envelope, 'event_type') : undefined;
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
      return { status: 400, contentType: 'application/json', body: WECHATPAY_FAILURE_ACK_BODY };
    },
  };
}
