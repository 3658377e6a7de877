import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import {
  ALIPAY_ACCOUNT_CURRENCY,
  ALIPAY_SUCCESS,
  alipayResponseKey,
  alipayTradeCurrencyOf,
  alipayNotificationSigningString,
  alipaySigningString,
  formatAlipayTime,
  parseAlipayTime,
  type AlipayMethod,
} from '../../../channels/alipay/protocol.js';
import { stringField } from '../../../channels/fields.js';
import { signSha256Rsa, verifySha256Rsa } from '../../../channels/rsa.js';
import type { ChannelOperation } from '../../../channels/types.js';
import type { Keyring } from '../../../crypto/keyring.js';
import { type Currency, formatMajor, minorPerMajor, parseMajor } from '../../../../domain/money.js';
import { convertMinor, divideHalfEven, parseRate } from '../../../../domain/fx.js';
import { randomDigits, refundSettlesAt, refundStateAt, shanghaiDate, type Trade } from '../order-book.js';
import type { OutgoingNotification } from '../notifier.js';
import { handle, type Cashier, type ChannelProtocol, type PaidTrade } from '../simulator.js';
import { BILL_UTC_OFFSET_MINUTES, dayBounds, dayOf, isCalendarDate } from '../../../../domain/reconciliation.js';
import { expiringTokens } from '../bills.js';
import { alipayBillZip } from './bill.js';

/** Alipay's resend waits after an unacknowledged notification: 8 deliveries in about 25 h. */
export const ALIPAY_RESEND_SCHEDULE_MS: readonly number[] = [4, 10, 10, 60, 120, 360, 900].map((m) => m * 60_000);

/**
 * How long the simulated Alipay takes to settle a refund, in provider time (scaled by the sandbox
 * time scale). Alipay asks merchants to query a refund no sooner than 10 s after requesting it.
 */
export const ALIPAY_REFUND_SETTLE_DELAY_MS = 3 * 60_000;

/** Keys the simulated Alipay needs: the merchant's public key to check requests, its own private key to sign. */
export type AlipaySandboxKeys = Pick<
  Keyring['alipay'],
  'appId' | 'sellerId' | 'merchantPublicKey' | 'alipayPublicKey'
> & { alipayPrivateKey: string };

/**
 * Signs notification parameters as Alipay does (`sign_type=RSA2`; `sign` over the sorted
 * parameters except `sign` and `sign_type`, empty values included) and answers the form-encoded body.
 * Tests use it to make arbitrary, forged or misreporting notifications.
 */
export function signAlipayNotification(params: Readonly<Record<string, string>>, alipayPrivateKey: string): string {
  const signed: Record<string, string> = { ...params, sign_type: 'RSA2' };
  signed.sign = signSha256Rsa(alipayNotificationSigningString(signed), alipayPrivateKey);
  return new URLSearchParams(signed).toString();
}

/**
 * The parameters of a TRADE_SUCCESS notification of a paid trade, except `notify_time` and
 * signature. A cross-border trade's `total_amount` is in its `trans_currency`; what the buyer paid
 * and the merchant receives (`buyer_pay_amount`, `receipt_amount`, `settle_amount`) is in CNY.
 */
export function alipayPaymentNotificationParams(
  trade: PaidTrade,
  options: { notifyId: string; appId: string; tamperAmount?: boolean },
): Record<string, string> {
  const { order, outcome } = trade;
  const currency = currencyOf(trade);
  const minor = order.amount + (options.tamperAmount === true ? 100 : 0);
  const amount = formatMajor(minor, currency);
  const paid = buyerPaysYuan(minor, currency);
  return {
    notify_type: 'trade_status_sync',
    notify_id: options.notifyId,
    app_id: options.appId,
    auth_app_id: options.appId,
    charset: 'utf-8',
    version: '1.0',
    trade_no: outcome.channelTradeNo,
    out_trade_no: order.outTradeNo,
    trade_status: 'TRADE_SUCCESS',
    subject: order.subject,
    total_amount: amount,
    receipt_amount: paid,
    invoice_amount: paid,
    buyer_pay_amount: paid,
    point_amount: '0.00',
    ...crossBorderFields(minor, currency),
    buyer_id: outcome.buyerId ?? '',
    seller_id: order.merchantId,
    gmt_create: formatAlipayTime(order.createdAt),
    gmt_payment: formatAlipayTime(outcome.at),
  };
}

/**
 * The simulated Alipay's exchange rates for its cross-border mode: CNY per major unit of each
 * foreign currency (`trans_pay_rate`), fixed so that tests can predict the CNY figures. They are
 * Alipay's own rates, not the quote a payment locks at create time.
 */
export const ALIPAY_SANDBOX_CNY_RATES: Readonly<Record<Exclude<Currency, 'CNY'>, string>> = {
  USD: '7.1800',
  EUR: '7.8000',
  GBP: '9.1000',
  HKD: '0.9200',
  SGD: '5.3500',
  AUD: '4.7000',
  CAD: '5.2500',
  JPY: '0.0480',
  KRW: '0.0052',
  KWD: '23.4000',
  BHD: '19.0500',
};

/** The currency an order is priced in (its `trans_currency`; CNY for a domestic trade). */
function currencyOf(trade: Trade): Currency {
  return alipayTradeCurrencyOf(trade.order.currency) ?? ALIPAY_ACCOUNT_CURRENCY;
}

/** `1 / rate` to eight decimals, rounded half to even: `settle_trans_rate`, foreign units per yuan. */
function inverseRate(rate: string): string {
  const decimals = 8;
  const parsed = parseRate(rate);
  if (parsed === undefined) throw new RangeError(`malformed exchange rate ${rate}`);
  const digits = divideHalfEven(10n ** BigInt(decimals + parsed.scale), parsed.units)
    .toString()
    .padStart(decimals + 1, '0');
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/**
 * What the buyer pays for `amount` minor units of `currency`, in yuan: the amount itself for a
 * domestic trade, converted at the sandbox's rate for a cross-border one.
 */
function buyerPaysYuan(amount: number, currency: Currency): string {
  if (currency === 'CNY') return formatMajor(amount, 'CNY');
  return formatMajor(convertMinor(amount, currency, 'CNY', ALIPAY_SANDBOX_CNY_RATES[currency]), 'CNY');
}

/**
 * The cross-border fields of a trade's answers and notifications (none for a domestic trade): the
 * price's currency, the merchant's CNY settlement and the buyer's CNY payment at Alipay's rate.
 */
function crossBorderFields(amount: number, currency: Currency): Record<string, string> {
  if (currency === 'CNY') return {};
  const rate = ALIPAY_SANDBOX_CNY_RATES[currency];
  const yuan = buyerPaysYuan(amount, currency);
  return {
    trans_currency: currency,
    settle_currency: ALIPAY_ACCOUNT_CURRENCY,
    settle_amount: yuan,
    settle_trans_rate: inverseRate(rate),
    trans_pay_rate: rate,
    pay_currency: 'CNY',
    pay_amount: yuan,
  };
}

type Params = Record<string, string>;
type AlipayAnswer = Record<string, unknown> & { code: string; msg: string };

const OPERATIONS: Record<AlipayMethod, ChannelOperation> = {
  'alipay.trade.precreate': 'create',
  'alipay.trade.page.pay': 'create',
  'alipay.trade.query': 'query',
  'alipay.trade.close': 'close',
  'alipay.trade.refund': 'refund',
  'alipay.trade.fastpay.refund.query': 'refund',
  'alipay.data.dataservice.bill.downloadurl.query': 'query',
};

/** How long a bill download URL works (Alipay: 30 seconds). */
export const ALIPAY_BILL_URL_TTL_MS = 30_000;

function isAlipayMethod(method: string | undefined): method is AlipayMethod {
  return method !== undefined && Object.prototype.hasOwnProperty.call(OPERATIONS, method);
}

const success = (fields: Record<string, unknown> = {}): AlipayAnswer => ({
  code: ALIPAY_SUCCESS,
  msg: 'Success',
  ...fields,
});
const businessFailed = (subCode: string, subMsg: string, fields: Record<string, unknown> = {}): AlipayAnswer => ({
  code: '40004',
  msg: 'Business Failed',
  sub_code: subCode,
  sub_msg: subMsg,
  ...fields,
});
const invalidArguments = (subCode: string, subMsg: string): AlipayAnswer => ({
  code: '40002',
  msg: 'Invalid Arguments',
  sub_code: subCode,
  sub_msg: subMsg,
});

/** Request parameters from query string and form body; `undefined` if any name repeats. */
function paramsOf(req: Request): Params | undefined {
  const params: Params = {};
  const sources: unknown[] = [req.query, req.body];
  for (const source of sources) {
    if (typeof source !== 'object' || source === null) continue;
    for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
      if (typeof value !== 'string' || Object.prototype.hasOwnProperty.call(params, key)) return undefined;
      params[key] = value;
    }
  }
  return params;
}

const OUT_TRADE_NO = /^[A-Za-z0-9_-]{1,64}$/;
/** Alipay's largest `total_amount`, in major units of the trade's currency. */
const MAX_TOTAL_MAJOR = 100_000_000;
const DEFAULT_TIMEOUT_MS = 2 * 60 * 60 * 1000;

/**
 * The simulated Alipay open-platform gateway, `gateway.do`: POST serves the merchant API
 * (`alipay.trade.page.pay | query | close | refund | fastpay.refund.query`), GET with a signed
 * `alipay.trade.page.pay` query string is the payer's cashier.
 */
/**
 * `publicBaseUrl`: where payers reach the sandbox (the API, which forwards `/sandbox` to it); the
 * precreate's `qr_code` (the payment's `payUrl`) points under it, never at the sandbox process.
 */
export function alipayProtocol(keys: AlipaySandboxKeys, publicBaseUrl: string): ChannelProtocol {
  const billTokens = expiringTokens(keys.alipayPrivateKey, ALIPAY_BILL_URL_TTL_MS);
  /** Answers like the gateway: JSON with the `*_response` member and Alipay's signature over its exact text. */
  function answer(res: Response, method: string | undefined, body: AlipayAnswer): void {
    const key = isAlipayMethod(method) ? alipayResponseKey(method) : 'error_response';
    const source = JSON.stringify(body);
    const sign = signSha256Rsa(source, keys.alipayPrivateKey);
    res.status(200).type('application/json;charset=utf-8').send(`{"${key}":${source},"sign":"${sign}"}`);
  }

  /** Checks a merchant request's common parameters and RSA2 signature; answers its biz_content. */
  function authenticate(params: Params): { biz: Record<string, unknown> } | { error: AlipayAnswer } {
    if (params.app_id !== keys.appId) return { error: invalidArguments('isv.invalid-app-id', 'app_id is not known') };
    if (params.sign_type !== 'RSA2') {
      return { error: invalidArguments('isv.invalid-signature-type', 'sign_type must be RSA2') };
    }
    if (!params.sign) return { error: invalidArguments('isv.missing-signature', 'sign is missing') };
    if (!verifySha256Rsa(alipaySigningString(params), params.sign, keys.merchantPublicKey)) {
      return { error: invalidArguments('isv.invalid-signature', 'the request signature does not verify') };
    }
    if ((params.charset ?? 'utf-8').toLowerCase() !== 'utf-8') {
      return { error: invalidArguments('isv.invalid-charset', 'charset must be utf-8') };
    }
    if (parseAlipayTime(params.timestamp ?? '') === undefined) {
      return { error: invalidArguments('isv.invalid-timestamp', 'timestamp must be yyyy-MM-dd HH:mm:ss') };
    }
    let biz: unknown;
    try {
      biz = JSON.parse(params.biz_content ?? '');
    } catch {
      biz = undefined;
    }
    if (typeof biz !== 'object' || biz === null || Array.isArray(biz)) {
      return { error: invalidArguments('isv.invalid-parameter', 'biz_content must be a JSON object') };
    }
    return { biz: biz as Record<string, unknown> };
  }

  return {
    channel: 'alipay',
    merchant: { appId: keys.appId, merchantId: keys.sellerId, currency: 'CNY' },
    billCannotShow: ['status_mismatch', 'currency_mismatch'],
    newChannelTradeNo: (at) => `${shanghaiDate(at)}22001${randomDigits(15)}`,
    newBuyerId: () => `2088${randomDigits(12)}`,

    paymentNotification(trade, tamperAmount): OutgoingNotification {
      const params = alipayPaymentNotificationParams(trade, {
        notifyId: randomBytes(18).toString('hex'),
        appId: keys.appId,
        tamperAmount,
      });
      return {
        outTradeNo: trade.order.outTradeNo,
        url: trade.order.notifyUrl,
        build: () => ({
          body: signAlipayNotification({ ...params, notify_time: formatAlipayTime(new Date()) }, keys.alipayPrivateKey),
          headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
        }),
        isAcknowledged: (status, body) => status === 200 && body === 'success',
      };
    },

    refundSettleDelayMs: ALIPAY_REFUND_SETTLE_DELAY_MS,

    mountApi(router: Router, cashier: Cashier): void {
      const { book, outages } = cashier;

      /** Registers the order of a page-pay request (idempotent), or says why it cannot be. */
      async function openPagePay(
        biz: Record<string, unknown>,
        params: Params,
        productCode: string | null = 'FAST_INSTANT_TRADE_PAY',
      ): Promise<{ trade: Trade } | { error: AlipayAnswer }> {
        const outTradeNo = stringField(biz, 'out_trade_no');
        const currency = alipayTradeCurrencyOf(stringField(biz, 'trans_currency'));
        const totalAmount = stringField(biz, 'total_amount');
        const amount =
          totalAmount === undefined || currency === undefined ? undefined : parseMajor(totalAmount, currency);
        const subject = stringField(biz, 'subject');
        const timeExpire = stringField(biz, 'time_expire');
        const expiresAt =
          timeExpire === undefined ? new Date(Date.now() + DEFAULT_TIMEOUT_MS) : parseAlipayTime(timeExpire);
        const notifyUrl = params.notify_url ?? '';
        if (outTradeNo === undefined || !OUT_TRADE_NO.test(outTradeNo)) {
          return { error: businessFailed('ACQ.INVALID_PARAMETER', 'out_trade_no is missing or malformed') };
        }
        if (currency === undefined) {
          return { error: businessFailed('ACQ.INVALID_PARAMETER', 'trans_currency is not a currency Alipay takes') };
        }
        if (currency !== ALIPAY_ACCOUNT_CURRENCY && stringField(biz, 'settle_currency') !== ALIPAY_ACCOUNT_CURRENCY) {
          return {
            error: businessFailed(
              'ACQ.INVALID_PARAMETER',
              'settle_currency must be CNY, the merchant account’s currency',
            ),
          };
        }
        const maxAmount = MAX_TOTAL_MAJOR * minorPerMajor(currency);
        if (amount === undefined || amount < 1 || amount > maxAmount) {
          const range = `${formatMajor(1, currency)} to ${formatMajor(maxAmount, currency)}`;
          return { error: businessFailed('ACQ.INVALID_PARAMETER', `total_amount must be ${range}`) };
        }
        if (subject === undefined) return { error: businessFailed('ACQ.INVALID_PARAMETER', 'subject is missing') };
        if (productCode !== null && stringField(biz, 'product_code') !== productCode) {
          return { error: businessFailed('ACQ.INVALID_PARAMETER', `product_code must be ${productCode}`) };
        }
        if (expiresAt === undefined) {
          return { error: businessFailed('ACQ.INVALID_PARAMETER', 'time_expire must be yyyy-MM-dd HH:mm:ss') };
        }
        if (notifyUrl !== '' && !/^https?:\/\/\S+$/.test(notifyUrl)) {
          return { error: invalidArguments('isv.invalid-notify-url', 'notify_url must be an http(s) URL') };
        }
        const opened = await book.open({
          outTradeNo,
          appId: keys.appId,
          merchantId: keys.sellerId,
          subject,
          amount,
          currency,
          notifyUrl,
          expiresAt,
        });
        if (opened.kind === 'conflict') {
          return {
            error: businessFailed('ACQ.CONTEXT_INCONSISTENT', 'out_trade_no was used with other trade details'),
          };
        }
        return { trade: opened.trade };
      }

      /** Alipay's view of a trade. Unpaid trades close by themselves at time_expire. */
      function tradeStatusOf(trade: Trade): string {
        if (trade.state === 'PAID') return trade.refunded >= trade.order.amount ? 'TRADE_CLOSED' : 'TRADE_SUCCESS';
        if (trade.state === 'CLOSED' || Date.now() > trade.order.expiresAt.getTime()) return 'TRADE_CLOSED';
        return 'WAIT_BUYER_PAY';
      }

      /** Opening a trade that is already paid or closed: Alipay refuses with the trade's state. */
      function settledTradeRefusal(trade: Trade): AlipayAnswer | undefined {
        if (trade.state === 'PAID') return businessFailed('ACQ.TRADE_HAS_SUCCESS', 'the trade has been paid');
        if (trade.state === 'CLOSED') return businessFailed('ACQ.TRADE_HAS_CLOSE', 'the trade has been closed');
        return undefined;
      }

      function paidFields(trade: Trade): Record<string, unknown> {
        const outcome = trade.state === 'PAID' ? trade.outcome : null;
        if (!outcome) return {};
        return {
          trade_no: outcome.channelTradeNo,
          buyer_logon_id: 'lea***@example.com',
          buyer_user_id: outcome.buyerId,
          send_pay_date: formatAlipayTime(outcome.at),
        };
      }

      /** A short-lived URL of the day's trade bill; today's is the day so far, a future day has none. */
      function billUrlAnswer(biz: Record<string, unknown>, selfBase: string): AlipayAnswer {
        const billType = stringField(biz, 'bill_type');
        const billDate = stringField(biz, 'bill_date') ?? '';
        if (billType !== 'trade') return businessFailed('isv.invalid-bill-type', 'bill_type must be trade');
        if (!isCalendarDate(billDate)) return businessFailed('isv.invalid-bill-date', 'bill_date must be yyyy-MM-dd');
        if (billDate > dayOf(new Date(), BILL_UTC_OFFSET_MINUTES)) {
          return businessFailed('isp.bill_not_exist', 'the bill of that day does not exist yet');
        }
        return success({ bill_download_url: `${selfBase}/bills/${billTokens.issue(billDate)}` });
      }

      const methods: Record<
        AlipayMethod,
        (biz: Record<string, unknown>, params: Params, cashierBase: string, selfBase: string) => Promise<AlipayAnswer>
      > = {
        'alipay.data.dataservice.bill.downloadurl.query': (biz, _params, _cashierBase, selfBase) =>
          Promise.resolve(billUrlAnswer(biz, selfBase)),
        /** The server-to-server create: the order exists at once; `qr_code` links to the cashier. */
        async 'alipay.trade.precreate'(biz, params, cashierBase) {
          const opened = await openPagePay(biz, params, null);
          if ('error' in opened) return opened.error;
          const { trade } = opened;
          const settled = settledTradeRefusal(trade);
          if (settled) return settled;
          return success({
            out_trade_no: trade.order.outTradeNo,
            qr_code: `${cashierBase}/cashier/${encodeURIComponent(trade.order.outTradeNo)}`,
          });
        },

        async 'alipay.trade.page.pay'(biz, params) {
          const opened = await openPagePay(biz, params);
          if ('error' in opened) return opened.error;
          const { trade } = opened;
          const settled = settledTradeRefusal(trade);
          if (settled) return settled;
          return success({
            out_trade_no: trade.order.outTradeNo,
            seller_id: trade.order.merchantId,
            total_amount: formatMajor(trade.order.amount, currencyOf(trade)),
          });
        },

        async 'alipay.trade.query'(biz) {
          const trade = await book.trade(stringField(biz, 'out_trade_no') ?? '');
          if (!trade) return businessFailed('ACQ.TRADE_NOT_EXIST', 'the trade does not exist');
          const paid = trade.state === 'PAID';
          const misreport = cashier.misreportsAmount(trade.order.outTradeNo) ? 100 : 0;
          const currency = currencyOf(trade);
          const minor = trade.order.amount + misreport;
          const buyerPaid = paid ? buyerPaysYuan(minor, currency) : '0.00';
          return success({
            out_trade_no: trade.order.outTradeNo,
            trade_status: tradeStatusOf(trade),
            total_amount: formatMajor(minor, currency),
            buyer_pay_amount: buyerPaid,
            receipt_amount: buyerPaid,
            invoice_amount: buyerPaid,
            point_amount: '0.00',
            ...crossBorderFields(minor, currency),
            ...paidFields(trade),
          });
        },

        async 'alipay.trade.close'(biz) {
          const outTradeNo = stringField(biz, 'out_trade_no') ?? '';
          const trade = await book.trade(outTradeNo);
          if (!trade) return businessFailed('ACQ.TRADE_NOT_EXIST', 'the trade does not exist');
          const statusError = businessFailed('ACQ.TRADE_STATUS_ERROR', 'the trade status does not allow closing');
          if (trade.state === 'PAID') return statusError;
          if (trade.state === 'NOT_PAID') {
            const settled = await book.settle(outTradeNo, {
              state: 'CLOSED',
              channelTradeNo: null,
              buyerId: null,
              at: new Date(),
            });
            if (settled.state === 'PAID') return statusError;
          }
          return success({ out_trade_no: outTradeNo });
        },

        async 'alipay.trade.refund'(biz) {
          const outTradeNo = stringField(biz, 'out_trade_no') ?? '';
          // A cross-border trade is refunded in its trans_currency (refund_currency, when given, names it).
          const held = await book.trade(outTradeNo);
          const currency = held === undefined ? ALIPAY_ACCOUNT_CURRENCY : currencyOf(held);
          const refundCurrency = stringField(biz, 'refund_currency');
          if (refundCurrency !== undefined && refundCurrency !== currency) {
            return businessFailed('ACQ.INVALID_PARAMETER', 'refund_currency must be the trade’s trans_currency');
          }
          const refundAmount = stringField(biz, 'refund_amount');
          const amount = refundAmount === undefined ? undefined : parseMajor(refundAmount, currency);
          if (amount === undefined || amount < 1) {
            return businessFailed('ACQ.INVALID_PARAMETER', `refund_amount must be a positive ${currency} amount`);
          }
          const decision = await cashier.refund({
            outTradeNo,
            outRequestNo: stringField(biz, 'out_request_no') ?? outTradeNo,
            amount,
            reason: stringField(biz, 'refund_reason') ?? '',
            channelRefundId: randomDigits(24),
          });
          if (decision.kind === 'refused') {
            switch (decision.why) {
              case 'TRADE_NOT_EXIST':
                return businessFailed('ACQ.TRADE_NOT_EXIST', 'the trade does not exist');
              case 'TRADE_NOT_PAID':
                return businessFailed('ACQ.TRADE_STATUS_ERROR', 'the trade is not paid');
              case 'EXCEEDS_PAID':
                return businessFailed('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'the refund exceeds the refundable amount');
              case 'CONFLICTING_RETRY':
                return businessFailed('ACQ.CONTEXT_INCONSISTENT', 'out_request_no was used with another refund');
            }
          }
          const { trade, refund, replayed } = decision;
          // Only the call that moved the money says Y: a refund still processing (or one that
          // will not succeed) says N, and so does a retry of the same out_request_no.
          const moved = !replayed && refundStateAt(refund) === 'SUCCEEDED';
          return success({
            out_trade_no: outTradeNo,
            ...paidFields(trade),
            fund_change: moved ? 'Y' : 'N',
            refund_fee: formatMajor(trade.refundHeld, currency),
            ...(currency === ALIPAY_ACCOUNT_CURRENCY ? {} : { refund_currency: currency }),
            gmt_refund_pay: formatAlipayTime(refund.at),
          });
        },

        async 'alipay.trade.fastpay.refund.query'(biz) {
          const outTradeNo = stringField(biz, 'out_trade_no') ?? '';
          const trade = await book.trade(outTradeNo);
          if (!trade) return businessFailed('ACQ.TRADE_NOT_EXIST', 'the trade does not exist');
          const refund = await book.findRefund(stringField(biz, 'out_request_no') ?? outTradeNo);
          // Like Alipay: an unknown refund is a success answer without refund fields.
          if (!refund || refund.outTradeNo !== outTradeNo) return success({ out_trade_no: outTradeNo });
          const common = {
            out_trade_no: outTradeNo,
            trade_no: trade.outcome?.channelTradeNo,
            out_request_no: refund.outRequestNo,
            total_amount: formatMajor(trade.order.amount, currencyOf(trade)),
            refund_amount: formatMajor(refund.amount, currencyOf(trade)),
          };
          // refund_status is absent until the refund succeeds, and for good when it does not:
          // "not received or failed" look the same, the merchant keeps querying.
          if (refundStateAt(refund) !== 'SUCCEEDED') return success(common);
          return success({
            ...common,
            refund_status: 'REFUND_SUCCESS',
            gmt_refund_pay: formatAlipayTime(refundSettlesAt(refund)),
          });
        },
      };

      router.post(
        '/gateway.do',
        express.urlencoded({ extended: false, limit: '64kb' }),
        handle(async (req, res) => {
          const params = paramsOf(req);
          const method = params?.method;
          if (isAlipayMethod(method)) await cashier.admit(OPERATIONS[method]);
          if (isAlipayMethod(method) && (await outages.isDown(OPERATIONS[method]))) {
            res.status(503).type('text/plain').send('Service Unavailable');
            return;
          }
          if (params === undefined) {
            answer(res, method, invalidArguments('isv.invalid-parameter', 'a parameter is repeated'));
            return;
          }
          if (!isAlipayMethod(method)) {
            answer(res, method, invalidArguments('isv.invalid-method', 'no such method'));
            return;
          }
          const checked = authenticate(params);
          const cashierBase = `${publicBaseUrl.replace(/\/+$/, '')}/sandbox/alipay`;
          answer(
            res,
            method,
            'error' in checked
              ? checked.error
              : await methods[method](
                  checked.biz,
                  params,
                  cashierBase,
                  `${req.protocol}://${req.get('host')}${req.baseUrl}`,
                ),
          );
        }),
      );

      /** The bill file behind a download URL: no signature, the URL's token is the credential. */
      router.get(
        '/bills/:token',
        handle(async (req, res) => {
          const token = billTokens.check(String(req.params.token));
          if (token === undefined) {
            res.status(404).type('text/plain').send('the download URL is unknown or has expired');
            return;
          }
          const { date, issuedAt } = token;
          const { start, end } = dayBounds(date, BILL_UTC_OFFSET_MINUTES);
          const day = await cashier.bills.day(date, issuedAt);
          // The domestic trade bill: Alipay lists cross-border trades in its separate cross-border
          // settlement file instead, which the sandbox does not serve.
          const domestic = {
            ...day,
            trades: day.trades.filter((t) => t.currency === ALIPAY_ACCOUNT_CURRENCY),
            refunds: day.refunds.filter((r) => r.currency === ALIPAY_ACCOUNT_CURRENCY),
          };
          const zip = alipayBillZip(domestic, keys.sellerId, start, end, issuedAt);
          res
            .status(200)
            .type('application/oct-stream')
            .set('content-disposition', `attachment; filename="${keys.sellerId}_${date.replaceAll('-', '')}.csv.zip"`)
            .send(Buffer.from(zip));
        }),
      );

      router.get(
        '/cashier/:outTradeNo',
        handle(async (req, res) => {
          const trade = await book.trade(String(req.params.outTradeNo));
          if (!trade) {
            cashier.notice(res, 404, 'Unknown order', 'Alipay holds no such order.');
            return;
          }
          cashier.show(res, trade, req.baseUrl);
        }),
      );

      router.get(
        '/gateway.do',
        handle(async (req, res) => {
          const params = paramsOf(req);
          if (params?.method !== 'alipay.trade.page.pay') {
            cashier.notice(
              res,
              400,
              'Invalid request',
              'Only a signed alipay.trade.page.pay request opens the cashier.',
            );
            return;
          }
          const checked = authenticate(params);
          const opened = 'error' in checked ? checked : await openPagePay(checked.biz, params);
          if ('error' in opened) {
            const { sub_code: subCode, sub_msg: subMsg } = opened.error;
            cashier.notice(res, 400, 'Invalid request', `${String(subCode)}: ${String(subMsg)}`);
            return;
          }
          cashier.show(res, opened.trade, req.baseUrl);
        }),
      );
    },
  };
}
