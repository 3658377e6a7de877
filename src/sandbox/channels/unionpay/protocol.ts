import express, { type Request, type Response, type Router } from 'express';
import { X509Certificate } from 'node:crypto';
import {
  UNIONPAY_CNY,
  UNIONPAY_NOT_FOUND,
  UNIONPAY_ORDER_ID,
  UNIONPAY_QUERY,
  UNIONPAY_REFUND,
  UNIONPAY_SIGN_METHOD,
  UNIONPAY_SUCCESS,
  UNIONPAY_VERSION,
  fenOfUnionpayAmount,
  formatUnionpayTime,
  parseUnionpayForm,
  parseUnionpayTime,
  signUnionpayFields,
  unionpayFormOf,
  verifyUnionpayFields,
} from '../../../channels/unionpay/protocol.js';
import type { ChannelOperation } from '../../../channels/types.js';
import { certificateSerialDecimal } from '../../../crypto/certificates.js';
import type { Keyring } from '../../../crypto/keyring.js';
import type { SandboxRefund } from '../models.js';
import type { OutgoingNotification } from '../notifier.js';
import { randomDigits, refundStateAt, type RefundState } from '../order-book.js';
import { handle, type Cashier, type ChannelProtocol, type PaidTrade } from '../simulator.js';
import { BILL_UTC_OFFSET_MINUTES, dayOf, isCalendarDate } from '../../../../domain/reconciliation.js';
import { unionpayBillFileContent } from './bill.js';

/**
 * The `YYYY-MM-DD` of a settle date `MMDD`: the latest such day not after today (Beijing); this
 * year's when it is today or earlier, else last year's.
 */
function settleDateOf(mmdd: string, now: Date): string | undefined {
  if (!/^\d{4}$/.test(mmdd)) return undefined;
  const today = dayOf(now, BILL_UTC_OFFSET_MINUTES);
  const year = Number(today.slice(0, 4));
  const candidate = `${year}-${mmdd.slice(0, 2)}-${mmdd.slice(2)}`;
  const date = candidate <= today ? candidate : `${year - 1}-${mmdd.slice(0, 2)}-${mmdd.slice(2)}`;
  return isCalendarDate(date) ? date : undefined;
}

/**
 * UnionPay does not publish its back-notification resend schedule; the simulator resends at
 * growing intervals over about a day, like the other channels.
 */
export const UNIONPAY_RESEND_SCHEDULE_MS: readonly number[] = [15, 60, 180, 600, 1800, 3600, 7200, 21_600, 43_200].map(
  (s) => s * 1000,
);

/** How long the simulated UnionPay takes to settle a refund, in provider time (scaled by the sandbox). */
export const UNIONPAY_REFUND_SETTLE_DELAY_MS = 3 * 60_000;

/** What the simulated UnionPay signs and verifies with. */
export type UnionpaySandboxKeys = Pick<
  NonNullable<Keyring['unionpay']>,
  'merId' | 'merchantCertificate' | 'signingCertificate'
> & { signingPrivateKey: string; signingCertificate: string };

/** A refund's state at the channel as a query's `origRespCode`: `00` done, `05` processing, `01` failed. */
const REFUND_CODE: Record<RefundState, string> = {
  SUCCEEDED: '00',
  PROCESSING: '05',
  ABNORMAL: '05',
  CLOSED: '01',
};

const MAX_TXN_AMOUNT = 10_000_000_000;
const COMMON_ANSWER = { version: UNIONPAY_VERSION, encoding: 'UTF-8', signMethod: UNIONPAY_SIGN_METHOD } as const;

type Fields = Record<string, string>;

/**
 * The simulated UnionPay online gateway (ACP 5.1.0): `backTransReq.do` takes QR-code consumes
 * (`txnType 01`, `txnSubType 07`, answering a `qrCode` that opens the cashier) and refunds
 * (`txnType 04`); `queryTrans.do` answers a transaction's state in `origRespCode`. Requests are
 * verified with the merchant certificate named by `certId`; answers and back notifications carry
 * the simulator's signing certificate (`signPubKeyCert`), which chains to the keyring's root.
 * `publicBaseUrl`: where payers reach the sandbox (through the API).
 */
export function unionpayProtocol(keys: UnionpaySandboxKeys, publicBaseUrl: string): ChannelProtocol {
  const merchantCertificate = new X509Certificate(keys.merchantCertificate);
  const merchantCertId = certificateSerialDecimal(keys.merchantCertificate);

  function signed(fields: Fields): Fields {
    return signUnionpayFields({ ...fields, signPubKeyCert: keys.signingCertificate }, keys.signingPrivateKey);
  }

  function answer(res: Response, fields: Fields): void {
    res
      .status(200)
      .type('application/x-www-form-urlencoded;charset=UTF-8')
      .send(unionpayFormOf(signed(fields)));
  }

  /** The fields every answer echoes from the request. */
  const echo = (request: Fields): Fields => ({
    ...COMMON_ANSWER,
    merId: request.merId ?? '',
    ...(request.orderId === undefined ? {} : { orderId: request.orderId }),
    ...(request.txnTime === undefined ? {} : { txnTime: request.txnTime }),
    ...(request.txnType === undefined ? {} : { txnType: request.txnType }),
    ...(request.txnSubType === undefined ? {} : { txnSubType: request.txnSubType }),
    ...(request.bizType === undefined ? {} : { bizType: request.bizType }),
    ...(request.accessType === undefined ? {} : { accessType: request.accessType }),
  });

  const refused = (request: Fields, respCode: string, respMsg: string): Fields => ({
    ...echo(request),
    respCode,
    respMsg,
  });

  /** Checks the merchant's common fields and signature; answers why not, as UnionPay's `respCode`. */
  function authenticate(request: Fields, { names = 'order' }: { names?: 'order' | 'file' } = {}): Fields | undefined {
    if (request.version !== UNIONPAY_VERSION) return refused(request, '11', 'version must be 5.1.0');
    if (request.signMethod !== UNIONPAY_SIGN_METHOD) return refused(request, '11', 'signMethod must be 01');
    if (request.merId !== keys.merId) return refused(request, '10', 'unknown merId');
    if (request.certId !== merchantCertId)
      return refused(request, '11', 'certId names no certificate of this merchant');
    if (!verifyUnionpayFields(request, merchantCertificate.publicKey))
      return refused(request, '11', 'signature mismatch');
    if (names === 'order' && (request.orderId === undefined || !UNIONPAY_ORDER_ID.test(request.orderId))) {
      return refused(request, '10', 'orderId must be 8-32 letters and digits');
    }
    if (parseUnionpayTime(request.txnTime) === undefined) {
      return refused(request, '10', 'txnTime must be YYYYMMDDhhmmss');
    }
    return undefined;
  }

  function readForm(req: Request): Fields | undefined {
    const body: unknown = req.body;
    if (typeof body !== 'string') return undefined;
    return parseUnionpayForm(body);
  }

  /** The transaction fields of a paid consume, as queries and notifications carry them. */
  function paidFields(trade: PaidTrade): Fields {
    return {
      queryId: trade.outcome.channelTradeNo,
      traceNo: trade.outcome.channelTradeNo.slice(-6),
      traceTime: formatUnionpayTime(trade.outcome.at).slice(4),
      settleAmt: String(trade.order.amount),
      settleCurrencyCode: UNIONPAY_CNY,
      settleDate: formatUnionpayTime(trade.outcome.at).slice(4, 8),
      accNo: '6216********0018',
      payType: '0001',
    };
  }

  return {
    channel: 'unionpay',
    merchant: { appId: keys.merId, merchantId: keys.merId, currency: 'CNY' },
    newChannelTradeNo: (at) => `${formatUnionpayTime(at).slice(4)}${randomDigits(11)}`,
    newBuyerId: () => `6216${randomDigits(12)}`,
    orderNoOf: (paymentId) => (paymentId.startsWith('pay_') ? paymentId.slice(4) : paymentId),

    paymentNotification(trade, tamperAmount): OutgoingNotification {
      const amount = trade.order.amount + (tamperAmount ? 100 : 0);
      const fields: Fields = {
        ...COMMON_ANSWER,
        txnType: '01',
        txnSubType: '07',
        bizType: '000000',
        accessType: '0',
        merId: trade.order.merchantId,
        orderId: trade.order.outTradeNo,
        txnTime: trade.order.reference ?? formatUnionpayTime(trade.order.createdAt),
        txnAmt: String(amount),
        currencyCode: UNIONPAY_CNY,
        respCode: UNIONPAY_SUCCESS,
        respMsg: 'success',
        ...paidFields(trade),
      };
      return {
        outTradeNo: trade.order.outTradeNo,
        url: trade.order.notifyUrl,
        build: () => ({
          body: unionpayFormOf(signed(fields)),
          headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
        }),
        isAcknowledged: (status) => status === 200,
      };
    },

    refundSettleDelayMs: UNIONPAY_REFUND_SETTLE_DELAY_MS,

    refundNotification(trade: PaidTrade, refund: SandboxRefund): OutgoingNotification {
      const code = REFUND_CODE[refundStateAt(refund, new Date(Math.max(Date.now(), refund.settlesAt?.getTime() ?? 0)))];
      const fields: Fields = {
        ...COMMON_ANSWER,
        ...UNIONPAY_REFUND,
        accessType: '0',
        merId: trade.order.merchantId,
        orderId: refund.outRequestNo,
        txnTime: refund.reference ?? formatUnionpayTime(refund.at),
        txnAmt: String(refund.amount),
        currencyCode: UNIONPAY_CNY,
        origQryId: trade.outcome.channelTradeNo,
        origOrderId: trade.order.outTradeNo,
        queryId: refund.channelRefundId,
        reqReserved: refund.reason,
        respCode: code,
        respMsg: code === UNIONPAY_SUCCESS ? 'success' : 'refund not completed',
      };
      return {
        outTradeNo: trade.order.outTradeNo,
        url: refund.notifyUrl,
        build: () => ({
          body: unionpayFormOf(signed(fields)),
          headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
        }),
        isAcknowledged: (status) => status === 200,
      };
    },

    mountApi(router: Router, cashier: Cashier): void {
      const { book, outages } = cashier;
      const form = express.text({ type: () => true, limit: '64kb' });
      const cashierBase = `${publicBaseUrl.replace(/\/+$/, '')}/sandbox/unionpay`;

      /** The merchant's request after its outage and hold checks, or `undefined` once answered. */
      async function admitted(
        req: Request,
        res: Response,
        operation: ChannelOperation,
        names: 'order' | 'file' = 'order',
      ): Promise<Fields | undefined> {
        await cashier.admit(operation);
        if (await outages.isDown(operation)) {
          res.status(503).type('text/plain').send('Service Unavailable');
          return undefined;
        }
        const request = readForm(req);
        if (request === undefined) {
          answer(res, refused({}, '10', 'the request is not a form, or repeats a field'));
          return undefined;
        }
        const problem = authenticate(request, { names });
        if (problem !== undefined) {
          answer(res, problem);
          return undefined;
        }
        return request;
      }

      async function consume(request: Fields): Promise<Fields> {
        const orderId = request.orderId ?? '';
        const amount = fenOfUnionpayAmount(request.txnAmt);
        if (request.txnSubType !== '07' || request.bizType !== '000000') {
          return refused(request, '10', 'only the QR-code consume (txnSubType 07, bizType 000000) is served');
        }
        if (amount === undefined || amount < 1 || amount > MAX_TXN_AMOUNT) return refused(request, '10', 'txnAmt');
        if (request.currencyCode !== UNIONPAY_CNY) return refused(request, '10', 'currencyCode must be 156');
        const backUrl = request.backUrl ?? '';
        if (!/^https?:\/\/\S+$/.test(backUrl)) return refused(request, '10', 'backUrl must be an http(s) URL');
        const payTimeout = request.payTimeout === undefined ? undefined : parseUnionpayTime(request.payTimeout);
        if (request.payTimeout !== undefined && payTimeout === undefined) return refused(request, '10', 'payTimeout');
        const opened = await book.open({
          outTradeNo: orderId,
          appId: keys.merId,
          merchantId: keys.merId,
          subject: request.orderDesc ?? `UnionPay order ${orderId}`,
          amount,
          currency: 'CNY',
          notifyUrl: backUrl,
          expiresAt: payTimeout ?? new Date(Date.now() + 2 * 60 * 60 * 1000),
          reference: request.txnTime ?? null,
        });
        // A repeated orderId is refused, as UnionPay does (`12`), whatever the details.
        if (opened.kind !== 'created') return refused(request, '12', 'duplicate transaction');
        return {
          ...echo(request),
          respCode: UNIONPAY_SUCCESS,
          respMsg: 'success',
          txnAmt: String(amount),
          currencyCode: UNIONPAY_CNY,
          qrCode: `${cashierBase}/cashier/${orderId}`,
        };
      }

      async function refund(request: Fields): Promise<Fields> {
        const amount = fenOfUnionpayAmount(request.txnAmt);
        if (amount === undefined || amount < 1) return refused(request, '10', 'txnAmt');
        const origQryId = request.origQryId ?? '';
        // UnionPay finds the payment by its queryId; the sandbox books it under its orderId.
        const orderId = origQryId === '' ? undefined : await book.orderOfTradeNo(origQryId);
        const trade = orderId === undefined ? undefined : await book.trade(orderId);
        if (!trade) return refused(request, '35', 'the original transaction does not exist');
        const decision = await cashier.refund({
          outTradeNo: trade.order.outTradeNo,
          outRequestNo: request.orderId ?? '',
          amount,
          reason: request.reqReserved ?? '',
          channelRefundId: `${formatUnionpayTime(new Date()).slice(4)}${randomDigits(11)}`,
          reference: request.txnTime ?? '',
          ...(request.backUrl === undefined ? {} : { notifyUrl: request.backUrl }),
        });
        if (decision.kind === 'refused') {
          switch (decision.why) {
            case 'TRADE_NOT_EXIST':
              return refused(request, '35', 'the original transaction does not exist');
            case 'TRADE_NOT_PAID':
              return refused(request, '36', 'the original transaction is not paid');
            case 'EXCEEDS_PAID':
              return refused(request, '37', 'the refund exceeds the refundable amount');
            case 'CONFLICTING_RETRY':
              return refused(request, '12', 'duplicate transaction');
          }
        }
        if (decision.replayed) return refused(request, '12', 'duplicate transaction');
        return {
          ...echo(request),
          respCode: UNIONPAY_SUCCESS,
          respMsg: 'accepted',
          origQryId,
          queryId: decision.refund.channelRefundId,
          txnAmt: String(amount),
          ...(request.reqReserved === undefined ? {} : { reqReserved: request.reqReserved }),
        };
      }

      async function query(request: Fields): Promise<Fields> {
        const orderId = request.orderId ?? '';
        const trade = await book.trade(orderId);
        if (trade) {
          if (trade.order.reference !== null && trade.order.reference !== request.txnTime) {
            return refused(request, UNIONPAY_NOT_FOUND, 'no such transaction');
          }
          const paid = trade.state === 'PAID' ? (trade as PaidTrade) : undefined;
          const misreport = cashier.misreportsAmount(orderId) ? 100 : 0;
          const expired = trade.state === 'NOT_PAID' && Date.now() > trade.order.expiresAt.getTime();
          const origRespCode = paid ? '00' : trade.state === 'CLOSED' || expired ? '01' : '05';
          return {
            ...echo(request),
            respCode: UNIONPAY_SUCCESS,
            respMsg: 'success',
            origRespCode,
            origRespMsg: paid ? 'success' : origRespCode === '05' ? 'awaiting payment' : 'transaction failed',
            txnType: '01',
            txnSubType: '07',
            txnAmt: String(trade.order.amount + misreport),
            currencyCode: UNIONPAY_CNY,
            ...(paid ? paidFields(paid) : {}),
          };
        }
        const refundRecord = await book.findRefund(orderId);
        if (!refundRecord || refundRecord.reference !== request.txnTime) {
          return refused(request, UNIONPAY_NOT_FOUND, 'no such transaction');
        }
        const origRespCode = REFUND_CODE[refundStateAt(refundRecord)];
        return {
          ...echo(request),
          respCode: UNIONPAY_SUCCESS,
          respMsg: 'success',
          origRespCode,
          origRespMsg: origRespCode === '00' ? 'success' : origRespCode === '05' ? 'processing' : 'refund failed',
          txnType: UNIONPAY_REFUND.txnType,
          txnSubType: UNIONPAY_REFUND.txnSubType,
          txnAmt: String(refundRecord.amount),
          currencyCode: UNIONPAY_CNY,
          queryId: refundRecord.channelRefundId,
        };
      }

      router.post(
        '/gateway/api/backTransReq.do',
        form,
        handle(async (req, res) => {
          const peek = readForm(req);
          const operation: ChannelOperation = peek?.txnType === UNIONPAY_REFUND.txnType ? 'refund' : 'create';
          const request = await admitted(req, res, operation);
          if (request === undefined) return;
          if (request.txnType === '01') answer(res, await consume(request));
          else if (request.txnType === UNIONPAY_REFUND.txnType) answer(res, await refund(request));
          else answer(res, refused(request, '10', 'txnType is not served here'));
        }),
      );

      /**
       * The file transfer (`txnType 76`, `fileType 00`): the bill of settle date `settleDate`
       * (MMDD, the latest such day not after today), `respCode 98` when there is none yet.
       */
      router.post(
        '/gateway/api/fileTransRequest.do',
        form,
        handle(async (req, res) => {
          const request = await admitted(req, res, 'query', 'file');
          if (request === undefined) return;
          if (request.txnType !== '76' || request.txnSubType !== '01' || request.fileType !== '00') {
            answer(res, refused(request, '10', 'a bill is txnType 76, txnSubType 01, fileType 00'));
            return;
          }
          const date = settleDateOf(request.settleDate ?? '', new Date());
          if (date === undefined) {
            answer(res, refused(request, '10', 'settleDate must be MMDD'));
            return;
          }
          const bill = await cashier.bills.day(date);
          answer(res, {
            ...echo(request),
            respCode: UNIONPAY_SUCCESS,
            respMsg: 'success',
            settleDate: request.settleDate ?? '',
            fileType: '00',
            ...unionpayBillFileContent(bill, keys.merId),
          });
        }),
      );

      router.post(
        '/gateway/api/queryTrans.do',
        form,
        handle(async (req, res) => {
          // One query endpoint serves both: a refund's query is down when refunds are.
          const orderId = readForm(req)?.orderId;
          const isRefund = orderId !== undefined && (await book.findRefund(orderId)) !== undefined;
          const request = await admitted(req, res, isRefund ? 'refund' : 'query');
          if (request === undefined) return;
          if (request.txnType !== UNIONPAY_QUERY.txnType || request.bizType !== UNIONPAY_QUERY.bizType) {
            answer(res, refused(request, '10', 'a query is txnType 00, bizType 000000'));
            return;
          }
          answer(res, await query(request));
        }),
      );

      router.get(
        '/cashier/:orderId',
        handle(async (req, res) => {
          const trade = await book.trade(String(req.params.orderId));
          if (!trade) {
            cashier.notice(res, 404, 'Unknown order', 'UnionPay holds no such order.');
            return;
          }
          cashier.show(res, trade, req.baseUrl);
        }),
      );
    },
  };
}
