import { createHash, createHmac, createSign, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { isRecord, stringField } from '../../../channels/fields.js';
import {
  PAYPAL_DATA_NOT_AVAILABLE,
  PAYPAL_SEARCH_MAX_PAGE_SIZE,
  PAYPAL_SEARCH_MAX_RANGE_MS,
  parsePaypalTime,
} from '../../../channels/paypal/bill.js';
import {
  minorUnitsOf,
  PAYPAL_AUTH_ALGO,
  PAYPAL_CURRENCIES,
  PAYPAL_EVENTS,
  paypalMoney,
  paypalTransmissionString,
} from '../../../channels/paypal/protocol.js';
import type { Keyring } from '../../../crypto/keyring.js';
import { type Currency, isCurrency } from '../../../../domain/money.js';
import type { SandboxRefund } from '../models.js';
import type { OutgoingNotification } from '../notifier.js';
import { randomDigits, refundStateAt, type RefundState, type Trade } from '../order-book.js';
import { handle, type Cashier, type ChannelProtocol, type PaidTrade } from '../simulator.js';
import { BILL_UTC_OFFSET_MINUTES, dayOf } from '../../../../domain/reconciliation.js';
import { paypalTransactionSearchPage } from './bill.js';

/** Webhook resends: PayPal retries a failed delivery up to 25 times over three days. */
export const PAYPAL_RESEND_SCHEDULE_MS: readonly number[] = [
  30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 86_400,
].map((s) => s * 1000);

/** How long a simulated PayPal refund stays pending, in provider time (scaled by the sandbox). */
export const PAYPAL_REFUND_SETTLE_DELAY_MS = 2 * 60_000;

/** How long an access token lasts, as PayPal's do (nine hours). */
const TOKEN_TTL_SECONDS = 32_400;

/** How long a payer may take to approve an order (PayPal's orders lapse after three days). */
const ORDER_APPROVAL_WINDOW_MS = 3 * 24 * 60 * 60 * 1000;

const REFUND_STATUS: Record<RefundState, string> = {
  PROCESSING: 'PENDING',
  SUCCEEDED: 'COMPLETED',
  ABNORMAL: 'PENDING',
  CLOSED: 'FAILED',
};

/**
 * The order id of a payment: its own characters, upper-cased (PayPal's ids are upper-case
 * letters and digits), so the sandbox finds the order without another lookup. The sandbox books
 * orders under `custom_id`, which must be a payment id.
 */
export const paypalOrderIdOf = (paymentId: string) => paymentId.replace(/^pay_/, '').toUpperCase();
const paymentIdOfOrder = (orderId: string) => (/^[A-Z2-7]{28}$/.test(orderId) ? `pay_${orderId.toLowerCase()}` : '');
/** A refund's id: its request number, hex, so it is found from the id alone. */
const refundIdOf = (outRequestNo: string) => Buffer.from(outRequestNo, 'utf8').toString('hex').toUpperCase();
const requestNoOfRefund = (refundId: string) =>
  /^(?:[0-9A-F]{2})+$/.test(refundId) ? Buffer.from(refundId, 'hex').toString('utf8') : '';

type Json = Record<string, unknown>;

/** PayPal's error answer: `{ name, message, debug_id, details: [{ issue, description }] }`. */
function apiError(res: Response, status: number, name: string, issue: string, description: string): void {
  res.status(status).json({
    name,
    message: description,
    debug_id: randomBytes(7).toString('hex'),
    details: [{ issue, description }],
  });
}

const unprocessable = (res: Response, issue: string, description: string) =>
  apiError(res, 422, 'UNPROCESSABLE_ENTITY', issue, description);
const notFound = (res: Response, what: string) =>
  apiError(res, 404, 'RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID', `Specified resource ID does not exist (${what}).`);

/** The name the sandbox serves its webhook certificates under: `CERT-` and a digest of them. */
export const paypalCertificateName = (certificates: string) =>
  `CERT-${createHash('sha256').update(certificates).digest('hex').slice(0, 24)}`;

export interface PaypalSandboxKeys
  extends Pick<NonNullable<Keyring['paypal']>, 'clientId' | 'clientSecret' | 'webhookId'> {
  signingPrivateKey: string;
  signingCertificates: string;
}

/**
 * The simulated PayPal: the REST subset the adapter uses (OAuth client credentials, Orders v2
 * create, get and capture, Payments v2 refund and refund lookup, Transaction Search for the daily
 * bill), JSON in and out, bearer tokens;
 * the approval page at `/checkoutnow?token=<order id>`; its webhook signing certificates at
 * `/v1/notifications/certs/<name>`; and webhooks (`CHECKOUT.ORDER.APPROVED`,
 * `PAYMENT.CAPTURE.COMPLETED`, `PAYMENT.CAPTURE.DENIED`, `PAYMENT.CAPTURE.REFUNDED`) signed over
 * `transmissionId|time|webhookId|crc32(body)`, re-signed at each delivery, sent to the API's
 * `/v1/callbacks/paypal`. The learner's approval moves no money: the merchant captures.
 */
export function paypalProtocol(keys: PaypalSandboxKeys, publicBaseUrl: string, apiBaseUrl: string): ChannelProtocol {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const api = apiBaseUrl.replace(/\/+$/, '');
  const webhookUrl = `${base}/v1/callbacks/paypal`;
  const certName = paypalCertificateName(keys.signingCertificates);
  const certUrl = `${api}/v1/notifications/certs/${certName}`;
  const tokenKey = createHmac('sha256', keys.clientSecret).update('sandbox access tokens').digest();
  /** The merchant's PayPal account number (13 letters and digits), stable for its client id. */
  const accountNumber = createHash('sha256').update(keys.clientId).digest('hex').slice(0, 13).toUpperCase();

  const currencyOf = (trade: Trade): Currency => (isCurrency(trade.order.currency) ? trade.order.currency : 'USD');

  function captureOf(trade: Trade, misreport = 0): Json | undefined {
    if (trade.state !== 'PAID' || !trade.outcome?.channelTradeNo) return undefined;
    const orderId = paypalOrderIdOf(trade.order.outTradeNo);
    const refunded = trade.refunded;
    const status = refunded === 0 ? 'COMPLETED' : refunded >= trade.order.amount ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    return {
      id: trade.outcome.channelTradeNo,
      status,
      amount: paypalMoney(trade.order.amount + misreport, currencyOf(trade)),
      final_capture: true,
      custom_id: trade.order.outTradeNo,
      invoice_id: trade.order.outTradeNo,
      create_time: trade.outcome.at.toISOString(),
      update_time: trade.outcome.at.toISOString(),
      supplementary_data: { related_ids: { order_id: orderId } },
      links: [
        { href: `${api}/v2/payments/captures/${trade.outcome.channelTradeNo}`, rel: 'self', method: 'GET' },
        { href: `${api}/v2/payments/captures/${trade.outcome.channelTradeNo}/refund`, rel: 'refund', method: 'POST' },
        { href: `${api}/v2/checkout/orders/${orderId}`, rel: 'up', method: 'GET' },
      ],
    };
  }

  function orderOf(trade: Trade, approved: boolean, misreport = 0): Json {
    const id = paypalOrderIdOf(trade.order.outTradeNo);
    const capture = captureOf(trade, misreport);
    const status = capture
      ? 'COMPLETED'
      : trade.state === 'CLOSED'
        ? 'VOIDED'
        : approved
          ? 'APPROVED'
          : 'PAYER_ACTION_REQUIRED';
    return {
      id,
      intent: 'CAPTURE',
      status,
      purchase_units: [
        {
          reference_id: 'default',
          custom_id: trade.order.outTradeNo,
          invoice_id: trade.order.outTradeNo,
          description: trade.order.subject,
          amount: paypalMoney(trade.order.amount + misreport, currencyOf(trade)),
          payee: { merchant_id: keys.clientId },
          ...(capture ? { payments: { captures: [capture] } } : {}),
        },
      ],
      create_time: trade.order.createdAt.toISOString(),
      links: [
        { href: `${api}/v2/checkout/orders/${id}`, rel: 'self', method: 'GET' },
        { href: `${base}/sandbox/paypal/checkoutnow?token=${id}`, rel: 'payer-action', method: 'GET' },
        { href: `${api}/v2/checkout/orders/${id}/capture`, rel: 'capture', method: 'POST' },
      ],
    };
  }

  function refundOf(trade: Trade, refund: SandboxRefund, at = new Date()): Json {
    const id = refundIdOf(refund.outRequestNo);
    return {
      id,
      status: REFUND_STATUS[refundStateAt(refund, at)],
      amount: paypalMoney(refund.amount, currencyOf(trade)),
      invoice_id: refund.outRequestNo,
      custom_id: trade.order.outTradeNo,
      note_to_payer: refund.reason,
      create_time: refund.at.toISOString(),
      links: [
        { href: `${api}/v2/payments/refunds/${id}`, rel: 'self', method: 'GET' },
        { href: `${api}/v2/payments/captures/${trade.outcome?.channelTradeNo ?? ''}`, rel: 'up', method: 'GET' },
      ],
    };
  }

  /** A webhook event, re-signed at each delivery (new transmission id and time), as PayPal sends them. */
  function webhook(
    outTradeNo: string,
    id: string,
    type: string,
    resourceType: string,
    resource: Json,
  ): OutgoingNotification {
    const payload = JSON.stringify({
      id,
      event_version: '1.0',
      create_time: new Date().toISOString(),
      resource_type: resourceType,
      resource_version: '2.0',
      event_type: type,
      summary: type,
      resource,
      links: [{ href: `${api}/v1/notifications/webhooks-events/${id}`, rel: 'self', method: 'GET' }],
    });
    return {
      outTradeNo,
      url: webhookUrl,
      build: () => {
        const transmissionId = randomUUID();
        const transmissionTime = new Date().toISOString();
        const signature = createSign('RSA-SHA256')
          .update(paypalTransmissionString(transmissionId, transmissionTime, keys.webhookId, payload), 'utf8')
          .sign(keys.signingPrivateKey, 'base64');
        return {
          body: payload,
          headers: {
            'content-type': 'application/json',
            'paypal-transmission-id': transmissionId,
            'paypal-transmission-time': transmissionTime,
            'paypal-transmission-sig': signature,
            'paypal-cert-url': certUrl,
            'paypal-auth-algo': PAYPAL_AUTH_ALGO,
          },
        };
      },
      isAcknowledged: (status) => status >= 200 && status < 300,
    };
  }

  const eventId = (...parts: string[]) =>
    `WH-${createHash('sha256').update(parts.join(':')).digest('hex').slice(0, 24).toUpperCase()}`;

  return {
    channel: 'paypal',
    merchant: { appId: keys.clientId, merchantId: keys.clientId, currency: 'USD' },
    newChannelTradeNo: () => `${randomDigits(1)}${randomBytes(8).toString('hex').toUpperCase().slice(0, 16)}`,
    newBuyerId: () => randomBytes(7).toString('hex').toUpperCase().slice(0, 13),

    approvalNotification(trade): OutgoingNotification {
      const order = orderOf(trade, true);
      return webhook(
        trade.order.outTradeNo,
        eventId(String(order.id), 'approved', randomUUID()),
        PAYPAL_EVENTS.approved,
        'checkout-order',
        order,
      );
    },

    paymentNotification(trade, tamperAmount): OutgoingNotification {
      const capture = captureOf(trade, tamperAmount ? 100 : 0) ?? {};
      return webhook(
        trade.order.outTradeNo,
        eventId(String(capture.id), 'completed'),
        PAYPAL_EVENTS.captureCompleted,
        'capture',
        capture,
      );
    },

    declineNotification(trade): OutgoingNotification {
      const orderId = paypalOrderIdOf(trade.order.outTradeNo);
      const captureId = `${randomDigits(1)}${randomBytes(8).toString('hex').toUpperCase().slice(0, 16)}`;
      return webhook(trade.order.outTradeNo, eventId(captureId, 'denied'), PAYPAL_EVENTS.captureDenied, 'capture', {
        id: captureId,
        status: 'DECLINED',
        amount: paypalMoney(trade.order.amount, currencyOf(trade)),
        custom_id: trade.order.outTradeNo,
        invoice_id: trade.order.outTradeNo,
        create_time: new Date().toISOString(),
        supplementary_data: { related_ids: { order_id: orderId } },
      });
    },

    refundSettleDelayMs: PAYPAL_REFUND_SETTLE_DELAY_MS,

    /** PayPal notifies a refund that went through; one that failed is found by asking. */
    refundNotification(trade: PaidTrade, refund: SandboxRefund): OutgoingNotification | undefined {
      const settled = new Date(Math.max(Date.now(), refund.settlesAt?.getTime() ?? 0));
      if (refundStateAt(refund, settled) !== 'SUCCEEDED') return undefined;
      const object = refundOf(trade, refund, settled);
      return webhook(
        trade.order.outTradeNo,
        eventId(String(object.id), 'refunded'),
        PAYPAL_EVENTS.captureRefunded,
        'refund',
        object,
      );
    },

    mountApi(router: Router, cashier: Cashier): void {
      const { book, outages } = cashier;
      const json = express.json({ limit: '64kb', type: () => true });
      const clientId = Buffer.from(keys.clientId, 'utf8');
      const clientSecret = Buffer.from(keys.clientSecret, 'utf8');
      const same = (given: string, expected: Buffer) => {
        const bytes = Buffer.from(given, 'utf8');
        return bytes.length === expected.length && timingSafeEqual(bytes, expected);
      };
      const tokenMac = (expiry: string) => createHmac('sha256', tokenKey).update(expiry).digest('base64url');

      /** A bearer token this sandbox issued and that has not expired: `A21AA<expiry>.<mac>`. */
      function authenticated(req: Request, res: Response): boolean {
        const token = /^Bearer A21AA(\d{10})\.([A-Za-z0-9_-]{43})$/.exec(req.get('authorization') ?? '');
        if (
          token &&
          same(token[2] ?? '', Buffer.from(tokenMac(token[1] ?? ''), 'utf8')) &&
          Number(token[1]) * 1000 > Date.now()
        ) {
          return true;
        }
        res.status(401).json({ error: 'invalid_token', error_description: 'Token signature verification failed' });
        return false;
      }

      async function admitted(req: Request, res: Response, operation: 'create' | 'query' | 'close' | 'refund') {
        await cashier.admit(operation);
        if (await outages.isDown(operation)) {
          apiError(res, 503, 'SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'Service Unavailable.');
          return false;
        }
        return authenticated(req, res);
      }

      const body = (req: Request): Json => (isRecord(req.body) ? (req.body as Json) : {});

      async function tradeOfOrder(orderId: string): Promise<Trade | undefined> {
        const paymentId = paymentIdOfOrder(orderId);
        return paymentId === '' ? undefined : book.trade(paymentId);
      }

      router.post(
        '/v1/oauth2/token',
        express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 8 }),
        (req, res) => {
          const basic = /^Basic (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
          const [id = '', secret = ''] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
          if (!same(id, clientId) || !same(secret, clientSecret)) {
            res.status(401).json({ error: 'invalid_client', error_description: 'Client Authentication failed' });
            return;
          }
          if ((req.body as Json | undefined)?.grant_type !== 'client_credentials') {
            res.status(400).json({ error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' });
            return;
          }
          const expiry = String(Math.floor(Date.now() / 1000) + TOKEN_TTL_SECONDS);
          res.json({
            scope: 'https://uri.paypal.com/services/payments/payment',
            access_token: `A21AA${expiry}.${tokenMac(expiry)}`,
            token_type: 'Bearer',
            app_id: `APP-${randomDigits(17)}`,
            expires_in: TOKEN_TTL_SECONDS,
            nonce: `${new Date().toISOString()}${randomBytes(8).toString('hex')}`,
          });
        },
      );

      router.post(
        '/v2/checkout/orders',
        json,
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'create'))) return;
          const fields = body(req);
          const units = Array.isArray(fields.purchase_units) ? (fields.purchase_units as unknown[]) : [];
          const unit = units.length === 1 && isRecord(units[0]) ? units[0] : undefined;
          if (fields.intent !== 'CAPTURE')
            return unprocessable(res, 'INVALID_PARAMETER_VALUE', 'intent must be CAPTURE here.');
          if (unit === undefined)
            return unprocessable(res, 'INVALID_PARAMETER_VALUE', 'Exactly one purchase unit is expected.');
          const money = minorUnitsOf(unit.amount);
          if (money === undefined || money.amount < 1) {
            return unprocessable(res, 'INVALID_PARAMETER_VALUE', 'amount must be a value in the currency’s decimals.');
          }
          if (!PAYPAL_CURRENCIES.includes(money.currency)) {
            return unprocessable(res, 'CURRENCY_NOT_SUPPORTED', 'Currency code is not supported.');
          }
          const paymentId = stringField(unit, 'custom_id');
          if (paymentId === undefined || paymentIdOfOrder(paypalOrderIdOf(paymentId)) !== paymentId) {
            return unprocessable(
              res,
              'INVALID_PARAMETER_VALUE',
              'The sandbox books orders under custom_id, a payment id.',
            );
          }
          const opened = await book.open({
            outTradeNo: paymentId,
            appId: keys.clientId,
            merchantId: keys.clientId,
            subject: stringField(unit, 'description') ?? `Payment ${paymentId}`,
            amount: money.amount,
            currency: money.currency,
            notifyUrl: webhookUrl,
            expiresAt: new Date(Date.now() + ORDER_APPROVAL_WINDOW_MS),
          });
          if (opened.kind === 'conflict') {
            return unprocessable(res, 'DUPLICATE_INVOICE_ID', 'Duplicate Invoice ID detected.');
          }
          const approved = (await book.approval(paymentId)) !== undefined;
          res.status(opened.kind === 'created' ? 201 : 200).json(orderOf(opened.trade, approved));
        }),
      );

      router.get(
        '/v2/checkout/orders/:id',
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'query'))) return;
          const trade = await tradeOfOrder(String(req.params.id));
          if (!trade) return notFound(res, 'order');
          const approved = (await book.approval(trade.order.outTradeNo)) !== undefined;
          res.json(orderOf(trade, approved, cashier.misreportsAmount(trade.order.outTradeNo) ? 100 : 0));
        }),
      );

      router.post(
        '/v2/checkout/orders/:id/capture',
        json,
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'create'))) return;
          const trade = await tradeOfOrder(String(req.params.id));
          if (!trade) return notFound(res, 'order');
          const captured = await cashier.capture(trade.order.outTradeNo);
          switch (captured.kind) {
            case 'not_found':
              return notFound(res, 'order');
            case 'not_approved':
              return unprocessable(res, 'ORDER_NOT_APPROVED', 'Payer has not yet approved the Order for payment.');
            case 'closed':
              return unprocessable(res, 'ORDER_EXPIRED', 'The order has expired.');
            case 'declined':
              return unprocessable(
                res,
                'INSTRUMENT_DECLINED',
                'The instrument presented was either declined by the processor or bank, or it can’t be used for this payment.',
              );
            case 'captured':
              // A capture retried under the same PayPal-Request-Id answers the first one's result.
              if (captured.replayed && req.get('paypal-request-id') === undefined) {
                return unprocessable(res, 'ORDER_ALREADY_CAPTURED', 'Order already captured.');
              }
              res.status(captured.replayed ? 200 : 201).json(orderOf(captured.trade, true));
          }
        }),
      );

      router.post(
        '/v2/payments/captures/:captureId/refund',
        json,
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'refund'))) return;
          const fields = body(req);
          const outTradeNo = await book.orderOfTradeNo(String(req.params.captureId));
          const trade = outTradeNo === undefined ? undefined : await book.trade(outTradeNo);
          if (!trade) return notFound(res, 'capture');
          const money = fields.amount === undefined ? undefined : minorUnitsOf(fields.amount);
          if (
            fields.amount !== undefined &&
            (money === undefined || money.currency !== trade.order.currency || money.amount < 1)
          ) {
            return unprocessable(res, 'INVALID_PARAMETER_VALUE', 'The refund amount or its currency is not valid.');
          }
          const amount = money?.amount ?? trade.order.amount - trade.refundHeld;
          if (amount < 1)
            return unprocessable(res, 'CAPTURE_FULLY_REFUNDED', 'The capture has already been fully refunded.');
          const outRequestNo =
            stringField(fields, 'invoice_id') ?? req.get('paypal-request-id') ?? `R${randomDigits(20)}`;
          const decision = await cashier.refund({
            outTradeNo: trade.order.outTradeNo,
            outRequestNo,
            amount,
            reason: stringField(fields, 'note_to_payer') ?? '',
            channelRefundId: refundIdOf(outRequestNo),
            notifyUrl: webhookUrl,
          });
          if (decision.kind === 'refused') {
            switch (decision.why) {
              case 'TRADE_NOT_EXIST':
                return notFound(res, 'capture');
              case 'TRADE_NOT_PAID':
                return unprocessable(res, 'CAPTURE_NOT_REFUNDABLE', 'The capture cannot be refunded.');
              case 'EXCEEDS_PAID':
                return unprocessable(
                  res,
                  'REFUND_AMOUNT_EXCEEDED',
                  'The refund amount must be less than or equal to the capture amount that has not yet been refunded.',
                );
              case 'CONFLICTING_RETRY':
                return unprocessable(res, 'DUPLICATE_INVOICE_ID', 'Duplicate Invoice ID detected.');
            }
          }
          res.status(decision.replayed ? 200 : 201).json(refundOf(decision.trade, decision.refund));
        }),
      );

      router.get(
        '/v2/payments/refunds/:id',
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'refund'))) return;
          const refund = await book.findRefund(requestNoOfRefund(String(req.params.id)));
          const trade = refund ? await book.trade(refund.outTradeNo) : undefined;
          if (!refund || !trade) return notFound(res, 'refund');
          res.json(refundOf(trade, refund));
        }),
      );

      /**
       * Transaction Search, the account's statement: `start_date` and `end_date` (inclusive, RFC
       * 3339 with an offset, at most 31 days apart), `fields` (`transaction_info` or `all`),
       * `page_size` (1-500, default 100) and `page`, read from the bills of the Beijing days the
       * range covers, as they stand now. A range that has not begun yet has no data.
       */
      router.get(
        '/v1/reporting/transactions',
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'query'))) return;
          const query = (name: string) => (typeof req.query[name] === 'string' ? req.query[name] : undefined);
          const invalid = (field: string, issue: string): void => {
            res.status(400).json({
              name: 'INVALID_REQUEST',
              message: 'Request is not well-formed, syntactically incorrect, or violates schema.',
              debug_id: randomBytes(7).toString('hex'),
              details: [{ field, value: query(field) ?? '', location: 'query', issue }],
            });
          };
          const startText = query('start_date') ?? '';
          const endText = query('end_date') ?? '';
          const start = parsePaypalTime(startText);
          const end = parsePaypalTime(endText);
          if (!start) return invalid('start_date', 'Start date is not a date and time in RFC 3339 format.');
          if (!end) return invalid('end_date', 'End date is not a date and time in RFC 3339 format.');
          if (end < start) return invalid('end_date', 'End date must not be before the start date.');
          if (end.getTime() - start.getTime() > PAYPAL_SEARCH_MAX_RANGE_MS) {
            return invalid('end_date', 'Date range is greater than 31 days.');
          }
          const fields = query('fields') ?? 'transaction_info';
          if (fields !== 'transaction_info' && fields !== 'all') {
            return invalid('fields', 'Only transaction_info or all are served here.');
          }
          const pageSize = Number(query('page_size') ?? 100);
          const page = Number(query('page') ?? 1);
          if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > PAYPAL_SEARCH_MAX_PAGE_SIZE) {
            return invalid('page_size', `Page size must be between 1 and ${PAYPAL_SEARCH_MAX_PAGE_SIZE}.`);
          }
          if (!Number.isSafeInteger(page) || page < 1) return invalid('page', 'Page must be 1 or more.');
          const now = new Date();
          if (start > now) {
            return apiError(
              res,
              400,
              'INVALID_REQUEST',
              PAYPAL_DATA_NOT_AVAILABLE,
              'Data for the given start date is not available.',
            );
          }
          const days: string[] = [];
          for (let day = dayOf(start, BILL_UTC_OFFSET_MINUTES); day <= dayOf(end, BILL_UTC_OFFSET_MINUTES); ) {
            days.push(day);
            day = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10);
          }
          const bills = await Promise.all(days.map((day) => cashier.bills.day(day, now)));
          const here = new URL(req.originalUrl, api);
          res.json(
            paypalTransactionSearchPage(
              bills,
              { start, end, startText, endText, fields, pageSize, page },
              {
                accountNumber,
                orderIdOf: paypalOrderIdOf,
                pageUrl: (n) => {
                  const url = new URL(`${api}/v1/reporting/transactions`);
                  here.searchParams.forEach((value, name) => url.searchParams.set(name, value));
                  url.searchParams.set('page', String(n));
                  return url.href;
                },
                now,
              },
            ),
          );
        }),
      );

      router.get('/v1/notifications/certs/:name', (req, res) => {
        if (req.params.name !== certName) {
          notFound(res, 'certificate');
          return;
        }
        res.type('application/x-pem-file').send(keys.signingCertificates);
      });

      router.get(
        '/checkoutnow',
        handle(async (req, res) => {
          const trade = await tradeOfOrder(typeof req.query.token === 'string' ? req.query.token : '');
          if (!trade) {
            cashier.notice(res, 404, 'Unknown order', 'PayPal holds no such order.');
            return;
          }
          cashier.show(res, trade, req.baseUrl);
        }),
      );
    },
  };
}
