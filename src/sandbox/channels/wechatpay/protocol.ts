import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { isRecord, stringField } from '../../../channels/fields.js';
import { signSha256Rsa, verifySha256Rsa } from '../../../channels/rsa.js';
import type { ChannelOperation } from '../../../channels/types.js';
import {
  formatWechatpayTime,
  parseWechatpayAuthorization,
  WECHATPAY_SIGNATURE_TYPE,
  WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS,
  wechatpayMessage,
  wechatpayNonce,
  type WechatpayResource,
} from '../../../channels/wechatpay/protocol.js';
import type { Keyring } from '../../../crypto/keyring.js';
import type { SandboxRefund } from '../models.js';
import {
  randomDigits,
  refundSettlesAt,
  refundStateAt,
  shanghaiDate,
  type RefundState,
  type Trade,
} from '../order-book.js';
import type { OutgoingNotification } from '../notifier.js';
import { handle, type Cashier, type ChannelProtocol, type PaidTrade } from '../simulator.js';
import { gzipSync } from 'node:zlib';
import { wechatpayBillHash } from '../../../channels/wechatpay/bill.js';
import { BILL_UTC_OFFSET_MINUTES, dayOf, isCalendarDate } from '../../../../domain/reconciliation.js';
import { expiringTokens } from '../bills.js';
import { wechatpayBillFile } from './bill.js';

/** How long a bill's download URL works (WeChat Pay: 5 minutes). */
export const WECHATPAY_BILL_URL_TTL_MS = 5 * 60_000;

/** WeChat Pay's resend waits after an unacknowledged notification: 16 deliveries over 24 h 4 min. */
export const WECHATPAY_RESEND_SCHEDULE_MS: readonly number[] = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10_800, 10_800, 10_800, 21_600, 21_600,
].map((s) => s * 1000);

/**
 * How long the simulated WeChat Pay takes to settle a refund, in provider time (scaled by the
 * sandbox time scale). WeChat Pay says refunds to the payer's balance arrive within 20 minutes.
 */
export const WECHATPAY_REFUND_SETTLE_DELAY_MS = 3 * 60_000;

/** A refund's `status` / `refund_status` on WeChat Pay's wire. */
const REFUND_STATUS: Record<RefundState, string> = {
  PROCESSING: 'PROCESSING',
  SUCCEEDED: 'SUCCESS',
  ABNORMAL: 'ABNORMAL',
  CLOSED: 'CLOSED',
};

const REFUND_SUMMARY: Record<string, string> = {
  SUCCESS: '退款成功',
  ABNORMAL: '退款异常',
  CLOSED: '退款关闭',
};

/** A WeChat Pay key that signs: its serial and private key. */
export interface WechatpaySigningKey {
  serial: string;
  privateKey: string;
}

/** Keys the simulated WeChat Pay needs: the merchant's to check requests, its own to sign and encrypt. */
export type WechatpaySandboxKeys = Pick<
  Keyring['wechatpay'],
  'mchId' | 'appId' | 'merchantSerialNo' | 'merchantPublicKey' | 'apiV3Key'
> & { platformKey: WechatpaySigningKey };

/** The `Wechatpay-*` headers signing `body`, as WeChat Pay sends them on answers and notifications. */
export function signWechatpayBody(
  body: string,
  key: WechatpaySigningKey,
  options: { timestamp?: number; nonce?: string } = {},
): Record<string, string> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? wechatpayNonce();
  const signature = signSha256Rsa(wechatpayMessage(timestamp, nonce, Buffer.from(body, 'utf8')), key.privateKey);
  return {
    'Wechatpay-Serial': key.serial,
    'Wechatpay-Signature': signature,
    'Wechatpay-Timestamp': timestamp,
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature-Type': WECHATPAY_SIGNATURE_TYPE,
  };
}

/** Encrypts a notification resource: AES-256-GCM, APIv3 key, 12-character nonce, tag appended. */
export function encryptWechatpayResource(
  plaintext: string,
  apiV3Key: string,
  options: { associatedData?: string; nonce?: string; originalType?: string } = {},
): WechatpayResource {
  const nonce = options.nonce ?? randomBytes(9).toString('base64url');
  const associatedData = options.associatedData ?? 'transaction';
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'), {
    authTagLength: 16,
  });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    original_type: options.originalType ?? 'transaction',
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: sealed.toString('base64'),
    associated_data: associatedData,
    nonce,
  };
}

/** A notification body: the event envelope around the encrypted resource. */
export function buildWechatpayNotificationBody(
  resource: WechatpayResource,
  options: { id?: string; eventType?: string; summary?: string; createTime?: Date } = {},
): string {
  return JSON.stringify({
    id: options.id ?? randomUUID(),
    create_time: formatWechatpayTime(options.createTime ?? new Date()),
    resource_type: 'encrypt-resource',
    event_type: options.eventType ?? 'TRANSACTION.SUCCESS',
    summary: options.summary ?? '支付成功',
    resource,
  });
}

/** The decrypted transaction of a TRADE SUCCESS notification (and of a query of a paid order). */
export function wechatpayTransactionOf(
  trade: Trade,
  ids: { appId: string; mchId: string },
  options: { tamperAmount?: boolean } = {},
): Record<string, unknown> {
  const { order } = trade;
  const outcome = trade.state === 'PAID' ? trade.outcome : null;
  const total = order.amount + (options.tamperAmount === true ? 100 : 0);
  const tradeState =
    trade.state === 'PAID'
      ? trade.refundHeld > 0
        ? 'REFUND'
        : 'SUCCESS'
      : trade.state === 'CLOSED'
        ? 'CLOSED'
        : 'NOTPAY';
  const descriptions: Record<string, string> = {
    SUCCESS: '支付成功',
    REFUND: '转入退款',
    CLOSED: '订单已关闭',
    NOTPAY: '订单未支付',
  };
  return {
    appid: ids.appId,
    mchid: ids.mchId,
    out_trade_no: order.outTradeNo,
    ...(outcome
      ? {
          transaction_id: outcome.channelTradeNo,
          trade_type: 'NATIVE',
          bank_type: 'OTHERS',
          success_time: formatWechatpayTime(outcome.at),
          payer: { openid: outcome.buyerId },
        }
      : {}),
    trade_state: tradeState,
    trade_state_desc: descriptions[tradeState],
    attach: '',
    amount: {
      total,
      ...(outcome ? { payer_total: total } : {}),
      currency: 'CNY',
      payer_currency: 'CNY',
    },
  };
}

/**
 * The decrypted resource of a `REFUND.*` notification: the refund as it stands at `settlesAt`
 * (its final status; `success_time` only for SUCCESS). Amounts in fen.
 */
export function wechatpayRefundResourceOf(
  trade: Trade,
  refund: Pick<SandboxRefund, 'outRequestNo' | 'channelRefundId' | 'amount' | 'at' | 'settlesAt' | 'outcome'>,
  ids: { mchId: string },
): Record<string, unknown> {
  const settlesAt = refundSettlesAt(refund);
  const status = REFUND_STATUS[refundStateAt(refund, settlesAt)];
  return {
    mchid: ids.mchId,
    out_trade_no: trade.order.outTradeNo,
    transaction_id: trade.outcome?.channelTradeNo ?? '',
    out_refund_no: refund.outRequestNo,
    refund_id: refund.channelRefundId,
    refund_status: status,
    ...(status === 'SUCCESS' ? { success_time: formatWechatpayTime(settlesAt) } : {}),
    user_received_account: '支付用户零钱',
    amount: {
      total: trade.order.amount,
      refund: refund.amount,
      payer_total: trade.order.amount,
      payer_refund: refund.amount,
    },
  };
}

const OUT_TRADE_NO = /^[A-Za-z0-9_\-|*]{6,32}$/;
const OUT_REFUND_NO = /^[A-Za-z0-9_\-|*@]{1,64}$/;
const TIME_EXPIRE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DEFAULT_TIMEOUT_MS = 2 * 60 * 60 * 1000;

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}

/**
 * The simulated WeChat Pay API v3 (Native pay): `/v3/pay/transactions/...`,
 * `/v3/refund/domestic/refunds...` and the payer's cashier at `/cashier/:outTradeNo` (the
 * answered `code_url`). Every answer is signed with the platform key; every request's
 * Authorization is checked against the merchant key.
 */
export function wechatpayProtocol(keys: WechatpaySandboxKeys, publicBaseUrl: string): ChannelProtocol {
  const cashierBase = publicBaseUrl.replace(/\/+$/, '');
  const billTokens = expiringTokens(keys.platformKey.privateKey, WECHATPAY_BILL_URL_TTL_MS);

  /** Answers like WeChat Pay: JSON (or 204) signed with the platform key. */
  function reply(res: Response, status: number, body?: Record<string, unknown>): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.set({ ...signWechatpayBody(text, keys.platformKey), 'Request-ID': randomUUID() });
    if (status === 204) res.status(204).end();
    else res.status(status).type('application/json').send(text);
  }

  const error = (res: Response, status: number, code: string, message: string) => reply(res, status, { code, message });

  /** Checks the merchant's Authorization over method, path, timestamp, nonce and the raw body. */
  function authenticate(req: Request): string | undefined {
    const auth = parseWechatpayAuthorization(req.get('authorization'));
    if (!auth) return 'Authorization is missing or malformed';
    if (auth.mchid !== keys.mchId) return 'mchid does not match the merchant';
    if (auth.serial_no !== keys.merchantSerialNo) return 'serial_no does not name the merchant key';
    const seconds = /^\d{1,12}$/.test(auth.timestamp) ? Number(auth.timestamp) : Number.NaN;
    if (!(Math.abs(Date.now() / 1000 - seconds) <= WECHATPAY_TIMESTAMP_TOLERANCE_SECONDS)) {
      return 'timestamp is too far from the current time';
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const message = Buffer.concat([
      Buffer.from(`${req.method}\n${req.originalUrl}\n${auth.timestamp}\n${auth.nonce_str}\n`, 'utf8'),
      body,
      Buffer.from('\n', 'utf8'),
    ]);
    return verifySha256Rsa(message, auth.signature, keys.merchantPublicKey)
      ? undefined
      : 'the request signature does not verify';
  }

  function jsonBody(req: Request): Record<string, unknown> | undefined {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) return undefined;
    try {
      const parsed: unknown = JSON.parse(req.body.toString('utf8'));
      return isRecord(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** A refund as the refund API and its query answer it: its status now. */
  function refundView(trade: Trade, refund: SandboxRefund) {
    const status = REFUND_STATUS[refundStateAt(refund)];
    return {
      refund_id: refund.channelRefundId,
      out_refund_no: refund.outRequestNo,
      transaction_id: trade.outcome?.channelTradeNo,
      out_trade_no: trade.order.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      ...(status === 'SUCCESS' ? { success_time: formatWechatpayTime(refundSettlesAt(refund)) } : {}),
      create_time: formatWechatpayTime(refund.at),
      status,
      funds_account: 'AVAILABLE',
      amount: {
        total: trade.order.amount,
        refund: refund.amount,
        payer_total: trade.order.amount,
        payer_refund: refund.amount,
        settlement_total: trade.order.amount,
        settlement_refund: refund.amount,
        discount_refund: 0,
        refund_fee: 0,
        currency: 'CNY',
      },
      promotion_detail: [],
    };
  }

  return {
    channel: 'wechatpay',
    merchant: { appId: keys.appId, merchantId: keys.mchId, currency: 'CNY' },
    newChannelTradeNo: (at) => `4200${randomDigits(6)}${shanghaiDate(at)}${randomDigits(10)}`,
    newBuyerId: () => `o${randomBytes(21).toString('base64url')}`,

    paymentNotification(trade: PaidTrade, tamperAmount): OutgoingNotification {
      const transaction = wechatpayTransactionOf(trade, keys, { tamperAmount });
      const body = buildWechatpayNotificationBody(encryptWechatpayResource(JSON.stringify(transaction), keys.apiV3Key));
      return {
        outTradeNo: trade.order.outTradeNo,
        url: trade.order.notifyUrl,
        build: () => ({
          body,
          headers: { 'content-type': 'application/json', ...signWechatpayBody(body, keys.platformKey) },
        }),
        isAcknowledged: (status) => status === 200 || status === 204,
      };
    },

    refundSettleDelayMs: WECHATPAY_REFUND_SETTLE_DELAY_MS,

    refundNotification(trade: PaidTrade, refund: SandboxRefund): OutgoingNotification {
      const resource = wechatpayRefundResourceOf(trade, refund, keys);
      const status = String(resource.refund_status);
      const body = buildWechatpayNotificationBody(
        encryptWechatpayResource(JSON.stringify(resource), keys.apiV3Key, {
          associatedData: 'refund',
          originalType: 'refund',
        }),
        {
          eventType: `REFUND.${status}`,
          summary: REFUND_SUMMARY[status] ?? status,
          createTime: refundSettlesAt(refund),
        },
      );
      return {
        outTradeNo: trade.order.outTradeNo,
        url: refund.notifyUrl ?? '',
        build: () => ({
          body,
          headers: { 'content-type': 'application/json', ...signWechatpayBody(body, keys.platformKey) },
        }),
        isAcknowledged: (status) => status === 200 || status === 204,
      };
    },

    mountApi(router: Router, cashier: Cashier): void {
      const { book, outages } = cashier;
      const rawBody = express.raw({ type: () => true, limit: '64kb' });

      /**
       * A held operation waits first (fault injection); then like the provider: an outage answers
       * 503 before anything else, and the merchant's signature must hold.
       */
      const guard =
        (operation: ChannelOperation): RequestHandler =>
        (req, res, next) => {
          cashier
            .admit(operation)
            .then(() => outages.isDown(operation))
            .then((down) => {
              if (down) {
                res
                  .status(503)
                  .type('application/json')
                  .send(JSON.stringify({ code: 'SYSTEM_ERROR', message: 'system busy' }));
                return;
              }
              const problem = authenticate(req);
              if (problem !== undefined) error(res, 401, 'SIGN_ERROR', problem);
              else next();
            })
            .catch(next);
        };

      router.post(
        '/v3/pay/transactions/native',
        rawBody,
        guard('create'),
        handle(async (req, res) => {
          const body = jsonBody(req);
          const amount = isRecord(body?.amount) ? body.amount : undefined;
          const outTradeNo = stringField(body, 'out_trade_no');
          const description = stringField(body, 'description');
          const notifyUrl = stringField(body, 'notify_url');
          const total = positiveInteger(amount?.total);
          const timeExpire = stringField(body, 'time_expire');
          const expiresAt = timeExpire === undefined ? new Date(Date.now() + DEFAULT_TIMEOUT_MS) : new Date(timeExpire);
          if (!body || stringField(body, 'appid') !== keys.appId || stringField(body, 'mchid') !== keys.mchId) {
            error(res, 400, 'PARAM_ERROR', 'appid and mchid must be the merchant’s');
          } else if (outTradeNo === undefined || !OUT_TRADE_NO.test(outTradeNo)) {
            error(res, 400, 'PARAM_ERROR', 'out_trade_no must be 6 to 32 letters, digits, _ - | *');
          } else if (description === undefined || [...description].length > 127) {
            error(res, 400, 'PARAM_ERROR', 'description must be 1 to 127 characters');
          } else if (notifyUrl === undefined || !/^https?:\/\/\S+$/.test(notifyUrl)) {
            error(res, 400, 'PARAM_ERROR', 'notify_url must be an http(s) URL');
          } else if (total === undefined || (amount?.currency !== undefined && amount.currency !== 'CNY')) {
            error(res, 400, 'PARAM_ERROR', 'amount.total must be a positive integer of fen, currency CNY');
          } else if ((timeExpire !== undefined && !TIME_EXPIRE.test(timeExpire)) || Number.isNaN(expiresAt.getTime())) {
            error(res, 400, 'PARAM_ERROR', 'time_expire must be RFC 3339');
          } else {
            const opened = await book.open({
              outTradeNo,
              appId: keys.appId,
              merchantId: keys.mchId,
              subject: description,
              amount: total,
              currency: 'CNY',
              notifyUrl,
              expiresAt,
            });
            if (opened.kind === 'conflict')
              error(res, 400, 'OUT_TRADE_NO_USED', 'out_trade_no was used with other order details');
            else if (opened.trade.state === 'PAID') error(res, 400, 'ORDERPAID', 'the order has been paid');
            else if (opened.trade.state === 'CLOSED') error(res, 400, 'ORDER_CLOSED', 'the order has been closed');
            else {
              const codeUrl = `${cashierBase}${req.baseUrl}/cashier/${encodeURIComponent(outTradeNo)}`;
              reply(res, 200, { code_url: codeUrl });
            }
          }
        }),
      );

      /**
       * The day's trade bill: a signed answer with the download URL and the SHA-1 of the file, then
       * the (signed-request, unsigned-answer) download, gzip when `tar_type=GZIP`. Today's is the
       * day so far; a future day has none (`NO_STATEMENT_EXIST`).
       */
      router.get(
        '/v3/bill/tradebill',
        rawBody,
        guard('query'),
        handle(async (req, res) => {
          const billDate = typeof req.query.bill_date === 'string' ? req.query.bill_date : '';
          const billType = req.query.bill_type ?? 'ALL';
          const tarType = req.query.tar_type;
          if (!isCalendarDate(billDate)) {
            error(res, 400, 'PARAM_ERROR', 'bill_date must be yyyy-MM-dd');
          } else if (billType !== 'ALL') {
            error(res, 400, 'PARAM_ERROR', 'bill_type: this merchant downloads ALL');
          } else if (tarType !== undefined && tarType !== 'GZIP') {
            error(res, 400, 'PARAM_ERROR', 'tar_type must be GZIP or absent');
          } else if (billDate > dayOf(new Date(), BILL_UTC_OFFSET_MINUTES)) {
            error(res, 400, 'NO_STATEMENT_EXIST', 'the bill of that day does not exist yet');
          } else {
            const issuedAt = Date.now();
            const file = wechatpayBillFile(await cashier.bills.day(billDate, new Date(issuedAt)), keys);
            const token = `${billTokens.issue(billDate, issuedAt)}${tarType === 'GZIP' ? '.gz' : ''}`;
            reply(res, 200, {
              hash_type: 'SHA1',
              hash_value: wechatpayBillHash(file),
              download_url: `${req.protocol}://${req.get('host')}${req.baseUrl}/v3/billdownload/file?token=${token}`,
            });
          }
        }),
      );

      router.get(
        '/v3/billdownload/file',
        rawBody,
        guard('query'),
        handle(async (req, res) => {
          const given = typeof req.query.token === 'string' ? req.query.token : '';
          const gzip = given.endsWith('.gz');
          const token = billTokens.check(gzip ? given.slice(0, -3) : given);
          if (token === undefined) {
            error(res, 400, 'PARAM_ERROR', 'the download token is unknown or has expired');
            return;
          }
          const file = wechatpayBillFile(await cashier.bills.day(token.date, token.issuedAt), keys);
          res
            .status(200)
            .type('application/octet-stream')
            .send(gzip ? gzipSync(file) : file);
        }),
      );

      router.get(
        '/v3/pay/transactions/out-trade-no/:outTradeNo',
        rawBody,
        guard('query'),
        handle(async (req, res) => {
          if (req.query.mchid !== keys.mchId) {
            error(res, 400, 'PARAM_ERROR', 'mchid must be the merchant’s');
            return;
          }
          const trade = await book.trade(String(req.params.outTradeNo));
          if (!trade) error(res, 404, 'ORDER_NOT_EXIST', 'the order does not exist');
          else {
            const tamperAmount = cashier.misreportsAmount(trade.order.outTradeNo);
            reply(res, 200, wechatpayTransactionOf(trade, keys, { tamperAmount }));
          }
        }),
      );

      router.post(
        '/v3/pay/transactions/out-trade-no/:outTradeNo/close',
        rawBody,
        guard('close'),
        handle(async (req, res) => {
          if (stringField(jsonBody(req), 'mchid') !== keys.mchId) {
            error(res, 400, 'PARAM_ERROR', 'mchid must be the merchant’s');
            return;
          }
          const outTradeNo = String(req.params.outTradeNo);
          const trade = await book.trade(outTradeNo);
          if (!trade) {
            error(res, 404, 'ORDER_NOT_EXIST', 'the order does not exist');
            return;
          }
          const state =
            trade.state === 'NOT_PAID'
              ? (
                  await book.settle(outTradeNo, {
                    state: 'CLOSED',
                    channelTradeNo: null,
                    buyerId: null,
                    at: new Date(),
                  })
                ).state
              : trade.state;
          if (state === 'PAID') error(res, 400, 'ORDERPAID', 'the order has been paid');
          else reply(res, 204);
        }),
      );

      router.post(
        '/v3/refund/domestic/refunds',
        rawBody,
        guard('refund'),
        handle(async (req, res) => {
          const body = jsonBody(req);
          const amount = isRecord(body?.amount) ? body.amount : undefined;
          const outTradeNo = stringField(body, 'out_trade_no');
          const outRefundNo = stringField(body, 'out_refund_no');
          const refund = positiveInteger(amount?.refund);
          const total = positiveInteger(amount?.total);
          const notifyUrl = stringField(body, 'notify_url');
          if (outTradeNo === undefined || outRefundNo === undefined || !OUT_REFUND_NO.test(outRefundNo)) {
            error(res, 400, 'PARAM_ERROR', 'out_trade_no and out_refund_no are required');
            return;
          }
          if (notifyUrl !== undefined && !/^https?:\/\/\S+$/.test(notifyUrl)) {
            error(res, 400, 'PARAM_ERROR', 'notify_url must be an http(s) URL');
            return;
          }
          if (refund === undefined || total === undefined || amount?.currency !== 'CNY') {
            error(res, 400, 'PARAM_ERROR', 'amount.refund and amount.total must be positive fen, currency CNY');
            return;
          }
          const trade = await book.trade(outTradeNo);
          if (trade && trade.order.amount !== total) {
            error(res, 400, 'INVALID_REQUEST', 'amount.total is not the order’s amount');
            return;
          }
          const decision = await cashier.refund({
            outTradeNo,
            outRequestNo: outRefundNo,
            amount: refund,
            reason: stringField(body, 'reason') ?? '',
            channelRefundId: `5030${randomDigits(25)}`,
            ...(notifyUrl === undefined ? {} : { notifyUrl }),
          });
          if (decision.kind === 'refunded') {
            reply(res, 200, refundView(decision.trade, decision.refund));
            return;
          }
          switch (decision.why) {
            case 'TRADE_NOT_EXIST':
              error(res, 404, 'RESOURCE_NOT_EXISTS', 'the order does not exist');
              break;
            case 'TRADE_NOT_PAID':
              error(res, 400, 'INVALID_REQUEST', 'the order is not paid');
              break;
            case 'EXCEEDS_PAID':
              error(res, 400, 'INVALID_REQUEST', 'the refund exceeds the refundable amount');
              break;
            case 'CONFLICTING_RETRY':
              error(res, 400, 'INVALID_REQUEST', 'out_refund_no was used with another refund');
              break;
          }
        }),
      );

      router.get(
        '/v3/refund/domestic/refunds/:outRefundNo',
        rawBody,
        guard('refund'),
        handle(async (req, res) => {
          const refund = await book.findRefund(String(req.params.outRefundNo));
          const trade = refund ? await book.trade(refund.outTradeNo) : undefined;
          if (!refund || !trade) error(res, 404, 'RESOURCE_NOT_EXISTS', 'the refund does not exist');
          else reply(res, 200, refundView(trade, refund));
        }),
      );

      router.get(
        '/cashier/:outTradeNo',
        handle(async (req, res) => {
          const trade = await book.trade(String(req.params.outTradeNo));
          if (!trade) cashier.notice(res, 404, 'Order not found', 'WeChat Pay holds no such order.');
          else cashier.show(res, trade, req.baseUrl);
        }),
      );
    },
  };
}
