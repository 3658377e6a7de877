import type { ApiKeyring } from '../../crypto/keyring.js';
import type { ChannelTradeState } from '../../../domain/payment.js';
import { type Currency, parseMajor } from '../../../domain/money.js';
import { stringField, truncate } from '../fields.js';
import { channelFetch } from '../http.js';
import type { ChannelBill } from '../../../domain/reconciliation.js';
import { parseAlipayBill } from './bill.js';
import { verifySha256Rsa } from '../rsa.js';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAck,
  type LocallyVerifyingAdapter,
  type ChannelOrder,
  type ChannelTrade,
  type CloseResult,
  type CreateChannelOrderRequest,
  type RawCallback,
  type RefundOutcome,
  type RefundRequest,
  type VerificationResult,
} from '../types.js';
import {
  ALIPAY_ACCOUNT_CURRENCY,
  ALIPAY_BUSINESS_FAILED,
  ALIPAY_RETRYABLE_SUB_CODES,
  ALIPAY_SUCCESS,
  ALIPAY_UNAVAILABLE,
  type AlipayMethod,
  type AlipayResponse,
  alipayNotificationSigningString,
  alipayPriceFields,
  alipayRefundAmountFields,
  alipayTradeCurrencyOf,
  formatAlipayTime,
  openAlipayResponse,
  parseAlipayTime,
  signedAlipayRequest,
} from './protocol.js';

/**
 * Alipay open-platform adapter (`alipay.trade.*`, RSA2). Requests are form posts to the gateway
 * signed with the merchant key; answers are JSON whose `*_response` member is signed by Alipay
 * and verified here before anything in it is used. See PROTOCOLS.md.
 *
 * Besides CNY, the adapter takes the foreign currencies the merchant account holds in Alipay's
 * cross-border mode (跨境收单): the trade is priced in the payment's currency (`trans_currency`,
 * `total_amount` in it), the buyer pays in CNY at Alipay's rate and Alipay settles CNY
 * (`settle_currency`). Every amount this adapter sends or reads is in the payment's currency;
 * Alipay's CNY figures (`buyer_pay_amount`, `settle_amount`) are not used.
 */

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
  /** Largest amount this channel takes, in minor units of the payment's currency (fen for CNY). */
  maxAmount: number;
  /**
   * Foreign currencies the merchant account takes in Alipay's cross-border mode
   * (`ALIPAY_CROSS_BORDER_CURRENCIES`). Unset or empty: CNY only.
   */
  crossBorderCurrencies?: readonly Currency[];
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

export function createAlipayAdapter(options: AlipayAdapterOptions): LocallyVerifyingAdapter {
  const { gatewayUrl, keyring, timeoutMs, maxAmount, notifyMaxAgeSeconds, now = () => new Date() } = options;
  const currencies = new Set<Currency>([ALIPAY_ACCOUNT_CURRENCY, ...(options.crossBorderCurrencies ?? [])]);

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
    if (response.code === ALIPAY_UNAVAILABLE || ALIPAY_RETRYABLE_SUB_CODES.has(response.sub_code ?? '')) {
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
    return currencies.has(currency) && Number.isSafeInteger(amount) && amount >= 1 && amount <= maxAmount;
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
    const currency = alipayTradeCurrencyOf(stringField(response, 'trans_currency'));
    if (currency === undefined) {
      throw new ChannelRejectedError('Alipay answered a trans_currency this product does not know', 'bad_currency');
    }
    const totalAmount = stringField(response, 'total_amount');
    const amount = totalAmount === undefined ? undefined : parseMajor(totalAmount, currency);
    if (totalAmount !== undefined && amount === undefined) {
      throw new ChannelRejectedError('Alipay answered a malformed total_amount', 'bad_amount');
    }
    const channelTradeNo = stringField(response, 'trade_no');
    return {
      state,
      ...(channelTradeNo === undefined ? {} : { channelTradeNo }),
      ...(amount === undefined ? {} : { amount, currency }),
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
    /** Every currency but CNY is taken by conversion: the buyer pays yuan for the foreign price. */
    convertsCurrency: (currency: Currency) => currency !== ALIPAY_ACCOUNT_CURRENCY,

    /**
     * `alipay.data.dataservice.bill.downloadurl.query` for the day's trade bill, then the download
     * (unsigned: the short-lived URL is the credential) and the check of detail against summary.
     */
    billCarries: (currency: Currency) => currency === ALIPAY_ACCOUNT_CURRENCY,

    async downloadBill(date: string): Promise<ChannelBill> {
      const method = 'alipay.data.dataservice.bill.downloadurl.query';
      const { response } = await call(method, { bill_type: 'trade', bill_date: date });
      if (response.code !== ALIPAY_SUCCESS) {
        if (response.sub_code === 'isp.bill_not_exist') {
          throw new ChannelRejectedError(`Alipay has no bill for ${date} yet`, 'bill_not_ready');
        }
        throw refused(method, response);
      }
      const url = stringField(response, 'bill_download_url');
      if (url === undefined || !/^https?:\/\//.test(url)) {
        throw new ChannelRejectedError('Alipay answered no bill_download_url', 'malformed_response');
      }
      const res = await channelFetch(url, { method: 'GET' }, timeoutMs);
      if (res.status !== 200) {
        throw new ChannelRejectedError(`Alipay's bill download answered HTTP ${res.status}`, 'unexpected_status');
      }
      return { channel: 'alipay', date, lines: parseAlipayBill(new Uint8Array(await res.arrayBuffer())) };
    },

    /**
     * `alipay.trade.precreate`: a server-to-server create, so the channel holds the order from the
     * start (query and close find it before the payer arrives); its `qr_code` link is the `payUrl`.
     * Idempotent by `out_trade_no`: a retried create with the same amount answers the same order.
     * A foreign currency is sent in Alipay's cross-border mode (see {@link alipayPriceFields}).
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
          ...alipayPriceFields(request.amount, request.currency),
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
        case 'APPROVED':
          throw new ChannelUnavailableError('Alipay refused to close a trade it still holds as unpaid');
      }
    },

    /**
     * `alipay.trade.refund` with `out_request_no` = the refund id. Alipay answers `fund_change: N`
     * when this call moved no money: the refund is still processing, or this is a retry of a refund
     * already made. The refund is then queried for its real status (PROCESSING until Alipay shows
     * REFUND_SUCCESS, see {@link queryRefund}). A cross-border trade is refunded in its own currency
     * (`refund_amount` in it, `refund_currency`), whatever the configuration takes for new payments now.
     */
    async refund(request: RefundRequest): Promise<RefundOutcome> {
      if (!Number.isSafeInteger(request.amount) || request.amount < 1) {
        throw new ChannelRejectedError('Alipay refunds positive amounts only', 'unsupported_amount');
      }
      const method = 'alipay.trade.refund';
      const { response } = await call(method, {
        out_trade_no: request.paymentId,
        out_request_no: request.refundId,
        ...alipayRefundAmountFields(request.amount, request.currency),
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
     * after Alipay's resends end. Amounts come back in minor units of the trade's currency: its
     * `trans_currency` for a cross-border trade (absent: CNY), in which `total_amount` and `refund_fee`
     * are. `app_id` / `seller_id` are returned for the caller to compare with its own.
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
      if (!verifySha256Rsa(alipayNotificationSigningString(fields), signature, keyring.alipayPublicKey)) {
        return fail('bad_signature');
      }
      const staleness = notifyTimeProblem(fields.notify_time);
      if (staleness !== undefined) return fail(staleness);
      const { notify_id: notificationId, trade_no: channelTradeNo, app_id: appId, seller_id: merchantId } = fields;
      if (!notificationId || !outTradeNo || !channelTradeNo || !appId || !merchantId || !fields.total_amount) {
        return fail('malformed_body');
      }
      const currency = alipayTradeCurrencyOf(fields.trans_currency);
      if (currency === undefined) return fail('bad_currency');
      const amount = parseMajor(fields.total_amount, currency);
      if (amount === undefined) return fail('bad_amount');
      const refundFee = fields.refund_fee === undefined ? 0 : parseMajor(fields.refund_fee, currency);
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
          currency,
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
