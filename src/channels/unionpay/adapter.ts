import type { UnionpayKeys } from '../../crypto/keyring.js';
import { certificateSerialDecimal } from '../../crypto/certificates.js';
import type { Currency } from '../../../domain/money.js';
import type { ChannelTradeState } from '../../../domain/payment.js';
import { truncate } from '../fields.js';
import { channelFetch } from '../http.js';
import type { ChannelBill } from '../../../domain/reconciliation.js';
import { parseUnionpayBill } from './bill.js';

/** `respCode` of a file request when the file does not exist (yet). */
const UNIONPAY_NO_FILE = '98';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  merchantSigningKey,
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
  UNIONPAY_CNY,
  UNIONPAY_NOT_FOUND,
  UNIONPAY_PARTIAL_SUCCESS,
  UNIONPAY_PROCESSING_CODES,
  UNIONPAY_QUERY,
  UNIONPAY_REFUND,
  UNIONPAY_RETRYABLE_CODES,
  UNIONPAY_SIGN_METHOD,
  UNIONPAY_SUCCESS,
  UNIONPAY_VERSION,
  checkUnionpaySignature,
  fenOfUnionpayAmount,
  formatUnionpayTime,
  parseUnionpayForm,
  parseUnionpayTime,
  paymentIdOfUnionpayOrder,
  signUnionpayFields,
  unionpayAmountOf,
  unionpayFormOf,
  unionpayOrderIdOf,
  unionpayRefundOrderIdOf,
  unionpayTrustOf,
  UNIONPAY_ORDER_ID,
} from './protocol.js';

/**
 * UnionPay online gateway adapter (ACP 5.1.0, RSA certificates). A payment is a QR-code consume
 * (`txnType 01`, `txnSubType 07`) whose `qrCode` the learner opens or scans; refunds are
 * `txnType 04` with a new `orderId`; both are confirmed by back notification or by query. Every
 * answer and notification is verified against UnionPay's certificate chain before it is used.
 *
 * UnionPay finds a transaction by `orderId` and the `txnTime` it was sent at, so this adapter
 * names a reference at creation ({@link ChannelAdapter.newReference}: the `txnTime`) that the
 * caller keeps and passes back to query, close and refund. UnionPay has no close: an unpaid order
 * ends at its `payTimeout` (the payment's window), so `closeOrder` asks the channel and answers
 * what it holds.
 */

export interface UnionpayAdapterOptions {
  /** The gateway's base, for example `https://gateway.95516.com`; `/gateway/api/...` is appended. */
  gatewayUrl: string;
  keyring: UnionpayKeys;
  /** Timeout of each call, in milliseconds. */
  timeoutMs: number;
  /** Largest amount this channel takes, in minor units (fen). */
  maxAmount: number;
  /** The clock messages are checked against. */
  now?: () => Date;
}

const CURRENCY: Currency = 'CNY';

const PATHS = {
  back: '/gateway/api/backTransReq.do',
  query: '/gateway/api/queryTrans.do',
  file: '/gateway/api/fileTransRequest.do',
} as const;

/**
 * A query's `origRespCode` (the transaction's own outcome) in our terms. UnionPay reports a paid
 * consume as `00` after refunds too (they are transactions of their own), so it is never REFUNDED.
 */
function tradeStateOf(origRespCode: string | undefined): ChannelTradeState {
  if (origRespCode === UNIONPAY_SUCCESS || origRespCode === UNIONPAY_PARTIAL_SUCCESS) return 'PAID';
  if (origRespCode !== undefined && UNIONPAY_PROCESSING_CODES.has(origRespCode)) return 'NOT_PAID';
  return 'CLOSED';
}

export function createUnionpayAdapter(options: UnionpayAdapterOptions): LocallyVerifyingAdapter {
  const { keyring, timeoutMs, maxAmount, now = () => new Date() } = options;
  const gatewayUrl = options.gatewayUrl.replace(/\/+$/, '');
  const trust = unionpayTrustOf(keyring);
  const certId = certificateSerialDecimal(keyring.merchantCertificate);

  const common = (): Record<string, string> => ({
    version: UNIONPAY_VERSION,
    encoding: 'UTF-8',
    certId,
    signMethod: UNIONPAY_SIGN_METHOD,
    merId: keyring.merId,
    accessType: '0',
  });

  /**
   * One signed call; answers UnionPay's fields once its signature holds. `respCode`s that mean
   * "not now" throw {@link ChannelUnavailableError}; the caller reads the others.
   */
  async function call(path: string, fields: Record<string, string>, what: string): Promise<Record<string, string>> {
    const body = unionpayFormOf(
      signUnionpayFields({ ...common(), ...fields }, merchantSigningKey(keyring.merchantPrivateKey)),
    );
    const res = await channelFetch(
      `${gatewayUrl}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body },
      timeoutMs,
    );
    const answer = parseUnionpayForm(await res.text());
    if (res.status !== 200 || answer === undefined) {
      throw new ChannelRejectedError(`UnionPay answered ${what} with HTTP ${res.status}`, 'malformed_response');
    }
    const problem = checkUnionpaySignature(answer, trust, now());
    if (problem !== undefined) {
      throw new ChannelRejectedError(
        `UnionPay's answer to ${what} does not verify (${problem})`,
        'bad_response_signature',
      );
    }
    if (UNIONPAY_RETRYABLE_CODES.has(answer.respCode ?? '')) {
      throw new ChannelUnavailableError(`UnionPay could not serve ${what} now (${answer.respCode})`);
    }
    return answer;
  }

  const refusal = (answer: Record<string, string>, what: string): ChannelRejectedError =>
    new ChannelRejectedError(
      `UnionPay refused ${what}: ${answer.respCode ?? 'no respCode'} ${answer.respMsg ?? ''}`.trim(),
      `unionpay_${answer.respCode ?? 'unknown'}`,
    );

  function requireReference(reference: string | undefined, what: string): string {
    if (reference === undefined || parseUnionpayTime(reference) === undefined) {
      throw new ChannelRejectedError(`UnionPay needs the txnTime of ${what}`, 'missing_reference');
    }
    return reference;
  }

  /** A query of the transaction `orderId` sent at `txnTime`: its fields, or `undefined` when UnionPay has none. */
  async function query(orderId: string, txnTime: string, what: string): Promise<Record<string, string> | undefined> {
    const answer = await call(PATHS.query, { ...UNIONPAY_QUERY, orderId, txnTime }, what);
    if (answer.respCode === UNIONPAY_NOT_FOUND) return undefined;
    if (answer.respCode !== UNIONPAY_SUCCESS) throw refusal(answer, what);
    return answer;
  }

  async function queryOrder(paymentId: string, reference?: string): Promise<ChannelTrade> {
    if (reference === undefined) return { state: 'NOT_FOUND' };
    const orderId = unionpayOrderIdOf(paymentId);
    const answer = await query(orderId, requireReference(reference, `order ${orderId}`), `the query of ${orderId}`);
    if (answer === undefined) return { state: 'NOT_FOUND' };
    const amount = fenOfUnionpayAmount(answer.txnAmt);
    const state = tradeStateOf(answer.origRespCode);
    return {
      state,
      ...(answer.queryId === undefined || state !== 'PAID' ? {} : { channelTradeNo: answer.queryId }),
      ...(amount === undefined ? {} : { amount, currency: CURRENCY }),
    };
  }

  function refundOutcomeOf(answer: Record<string, string> | undefined): RefundOutcome {
    if (answer === undefined) return { status: 'PROCESSING' };
    const code = answer.origRespCode;
    const channelRefundId = answer.queryId;
    const withId = channelRefundId === undefined ? {} : { channelRefundId };
    if (code === UNIONPAY_SUCCESS) return { status: 'SUCCEEDED', ...withId };
    if (code !== undefined && UNIONPAY_PROCESSING_CODES.has(code)) return { status: 'PROCESSING', ...withId };
    return {
      status: 'FAILED',
      reason: `origRespCode ${code ?? 'missing'}: ${answer.origRespMsg ?? ''}`.trim(),
      ...withId,
    };
  }

  function verifyNotification(raw: RawCallback): VerificationResult {
    const fields = parseUnionpayForm(raw.body.toString('utf8'));
    if (fields === undefined) return { ok: false, reason: 'malformed_body' };
    const orderId = fields.orderId;
    const known = orderId !== undefined && UNIONPAY_ORDER_ID.test(orderId);
    const fail = (reason: string): VerificationResult => ({
      ok: false,
      reason,
      ...(known && fields.txnType !== UNIONPAY_REFUND.txnType ? { outTradeNo: paymentIdOfUnionpayOrder(orderId) } : {}),
    });
    const problem = checkUnionpaySignature(fields, trust, now());
    if (problem !== undefined) return fail(problem);
    const { queryId, merId, respCode, txnType } = fields;
    if (!known || !queryId || !merId || !respCode || !txnType) return fail('malformed_body');
    if (fields.currencyCode !== undefined && fields.currencyCode !== UNIONPAY_CNY) return fail('bad_currency');
    const amount = fenOfUnionpayAmount(fields.txnAmt);
    if (amount === undefined) return fail('bad_amount');
    const succeeded = respCode === UNIONPAY_SUCCESS || respCode === UNIONPAY_PARTIAL_SUCCESS;
    if (txnType === UNIONPAY_REFUND.txnType) {
      const refundId = fields.reqReserved;
      const outTradeNo = fields.origOrderId === undefined ? undefined : paymentIdOfUnionpayOrder(fields.origOrderId);
      if (!refundId || !outTradeNo || unionpayRefundOrderIdOf(refundId) !== orderId) return fail('malformed_body');
      return {
        ok: true,
        kind: 'refund',
        refund: {
          channel: 'unionpay',
          notificationId: `unionpay:${queryId}`,
          outTradeNo,
          refundId,
          channelRefundId: queryId,
          status: succeeded ? 'SUCCEEDED' : UNIONPAY_PROCESSING_CODES.has(respCode) ? 'PROCESSING' : 'FAILED',
          amount,
          currency: CURRENCY,
          merchantId: merId,
          ...(succeeded ? {} : { reason: `respCode ${respCode}` }),
        },
      };
    }
    if (txnType !== '01') return fail('unknown_transaction_type');
    if (!succeeded) return fail('unknown_trade_status');
    return {
      ok: true,
      kind: 'payment',
      notification: {
        channel: 'unionpay',
        notificationId: `unionpay:${queryId}`,
        outTradeNo: paymentIdOfUnionpayOrder(orderId),
        channelTradeNo: queryId,
        state: 'PAID',
        amount,
        currency: CURRENCY,
        merchantId: merId,
        appId: merId,
      },
    };
  }

  return {
    channel: 'unionpay',

    /**
     * The file transfer (`txnType 76`) of settle date `date`: the deflated zip in `fileContent`,
     * its ZM and ZME files read. `settleDate` has no year: UnionPay serves the latest such day,
     * so only a day within the past year can be asked for.
     */
    async downloadBill(date: string): Promise<ChannelBill> {
      const answer = await call(
        PATHS.file,
        {
          txnType: '76',
          txnSubType: '01',
          bizType: '000000',
          fileType: '00',
          settleDate: date.slice(5, 7) + date.slice(8, 10),
          txnTime: formatUnionpayTime(now()),
        },
        `the bill of ${date}`,
      );
      if (answer.respCode === UNIONPAY_NO_FILE) {
        throw new ChannelRejectedError(`UnionPay has no bill for ${date} yet`, 'bill_not_ready');
      }
      if (answer.respCode !== UNIONPAY_SUCCESS || answer.fileContent === undefined) {
        throw refusal(answer, `the bill of ${date}`);
      }
      return { channel: 'unionpay', date, lines: parseUnionpayBill(answer.fileContent, date, keyring.merId) };
    },

    billRefundNoOf: (refundId: string) => unionpayRefundOrderIdOf(refundId),
    keepsReferences: true,

    supports(currency: Currency, amount: number): boolean {
      return currency === CURRENCY && amount >= 1 && amount <= maxAmount;
    },

    newReference(at: Date): string {
      return formatUnionpayTime(at);
    },

    async createOrder(request: CreateChannelOrderRequest): Promise<ChannelOrder> {
      const orderId = unionpayOrderIdOf(request.paymentId);
      const txnTime = requireReference(request.reference, `order ${orderId}`);
      const what = `the order of ${request.paymentId}`;
      const answer = await call(
        PATHS.back,
        {
          txnType: '01',
          txnSubType: '07',
          bizType: '000000',
          channelType: '08',
          orderId,
          txnTime,
          txnAmt: unionpayAmountOf(request.amount),
          currencyCode: UNIONPAY_CNY,
          backUrl: request.notifyUrl,
          payTimeout: formatUnionpayTime(new Date(request.expiresAt)),
          orderDesc: truncate(request.subject, 32),
        },
        what,
      );
      if (answer.respCode === '12') {
        // A repeated orderId: an earlier attempt of ours created it. Its state decides.
        const trade = await queryOrder(request.paymentId, txnTime);
        if (trade.state === 'PAID') {
          throw new ChannelRejectedError(`UnionPay order ${orderId} is already paid`, 'already_paid');
        }
        if (trade.state === 'CLOSED')
          throw new ChannelRejectedError(`UnionPay order ${orderId} is closed`, 'order_closed');
        throw refusal(answer, what);
      }
      if (answer.respCode !== UNIONPAY_SUCCESS || !answer.qrCode) throw refusal(answer, what);
      return { channel: 'unionpay', payUrl: answer.qrCode, merchantId: keyring.merId };
    },

    queryOrder,

    async closeOrder(paymentId: string, reference?: string): Promise<CloseResult> {
      const trade = await queryOrder(paymentId, reference);
      if (trade.state === 'NOT_FOUND') return 'NOT_FOUND';
      if (trade.state === 'PAID') return 'ALREADY_PAID';
      return 'CLOSED';
    },

    async refund(request: RefundRequest): Promise<RefundOutcome> {
      const orderId = unionpayRefundOrderIdOf(request.refundId);
      const txnTime = requireReference(request.refundReference, `refund ${request.refundId}`);
      const payment = await queryOrder(request.paymentId, request.orderReference);
      if (payment.channelTradeNo === undefined) {
        throw new ChannelRejectedError(`UnionPay holds no paid order for ${request.paymentId}`, 'trade_not_paid');
      }
      const what = `refund ${request.refundId}`;
      const answer = await call(
        PATHS.back,
        {
          ...UNIONPAY_REFUND,
          channelType: '07',
          orderId,
          txnTime,
          txnAmt: unionpayAmountOf(request.amount),
          currencyCode: UNIONPAY_CNY,
          origQryId: payment.channelTradeNo,
          reqReserved: request.refundId,
          ...(request.notifyUrl === undefined ? {} : { backUrl: request.notifyUrl }),
        },
        what,
      );
      // `00` means accepted, not done: the notification or a query says how it ended. A repeated
      // orderId (`12`) is our own earlier attempt: ask how it stands.
      if (answer.respCode === UNIONPAY_SUCCESS || answer.respCode === '12') {
        return refundOutcomeOf(await query(orderId, txnTime, `the query of ${what}`));
      }
      return { status: 'FAILED', reason: `respCode ${answer.respCode ?? 'missing'}: ${answer.respMsg ?? ''}`.trim() };
    },

    async queryRefund(_paymentId: string, refundId: string, reference?: string): Promise<RefundOutcome> {
      const orderId = unionpayRefundOrderIdOf(refundId);
      if (reference === undefined) return { status: 'PROCESSING' };
      return refundOutcomeOf(await query(orderId, reference, `the query of refund ${refundId}`));
    },

    verifyNotification,

    /** UnionPay stops resending on HTTP 200; the body is not read. */
    ackSuccess(): ChannelAck {
      return { status: 200, contentType: 'text/plain', body: 'ok' };
    },

    /** Anything but HTTP 200 makes UnionPay resend; the reason stays in our records. */
    ackFailure(_reason: string): ChannelAck {
      return { status: 400, contentType: 'text/plain', body: 'fail' };
    },
  };
}
