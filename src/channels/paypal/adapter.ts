import { createVerify, type KeyObject, X509Certificate } from 'node:crypto';
import type { PaypalKeys } from '../../crypto/keyring.js';
import { verifyCertificateChain } from '../../crypto/certificates.js';
import type { Currency } from '../../../domain/money.js';
import type { ChannelTradeState } from '../../../domain/payment.js';
import { BILL_UTC_OFFSET_MINUTES, type BillLine, type ChannelBill, dayBounds } from '../../../domain/reconciliation.js';
import { isRecord, stringField, truncate } from '../fields.js';
import { channelFetch } from '../http.js';
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
} from '../types.js';
import {
  minorUnitsOf,
  PAYPAL_AUTH_ALGO,
  PAYPAL_CURRENCIES,
  PAYPAL_EVENTS,
  paypalIssueOf,
  paypalMoney,
  paypalTransmissionString,
} from './protocol.js';
import {
  PAYPAL_DATA_NOT_AVAILABLE,
  PAYPAL_SEARCH_MAX_PAGE_SIZE,
  paypalSearchTime,
  readPaypalTransactionPage,
} from './bill.js';

/**
 * PayPal through its REST API: an Orders v2 order per payment (intent CAPTURE, `custom_id` = the
 * payment id, created under `PayPal-Request-Id`), approved by the learner on PayPal's page and
 * captured by the saga ({@link ChannelAdapter.captureOrder}): approval alone moves no money.
 * Refunds are Payments v2 refunds of the capture (`invoice_id` = our refund id). The order id is
 * the order's reference and a refund's PayPal id its reference; the caller keeps both. The daily
 * bill is Transaction Search over the Beijing day ({@link ChannelAdapter.downloadBill}).
 *
 * Webhooks are verified offline, as PayPal documents: SHA256withRSA over
 * `transmissionId|transmissionTime|webhookId|crc32(body)` with the certificate at
 * `PAYPAL-CERT-URL`, fetched only from under the configured prefix, and trusted only when it
 * chains to the configured root and names PayPal's signer.
 */

export interface PaypalAdapterOptions {
  /** PayPal's REST API base: `https://api-m.paypal.com`, or the sandbox's `.../sandbox/paypal`. */
  apiUrl: string;
  keyring: PaypalKeys;
  /** The only place a webhook's signing certificate is fetched from. */
  certUrlPrefix: string;
  timeoutMs: number;
  /** Largest amount this channel takes, in minor units of any currency it takes. */
  maxAmount: number;
  /** How far a webhook's transmission time may be from our clock. */
  webhookMaxAgeSeconds?: number;
  now?: () => Date;
}

/** Certificates kept per URL: PayPal rotates them rarely and names each by its own URL. */
const CERTIFICATE_CACHE_SIZE = 16;
const CERTIFICATE_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_CERTIFICATE_BYTES = 64 * 1024;
/** A day's transactions past this many full pages are not a bill this product can take. */
const MAX_BILL_PAGES = 200;

type Json = Record<string, unknown>;

/** The capture that took the money, if any: completed, or refunded since. */
function paidCapture(order: Json): Json | undefined {
  const unit = Array.isArray(order.purchase_units) ? (order.purchase_units as unknown[]).find(isRecord) : undefined;
  const payments = unit && isRecord(unit.payments) ? unit.payments : undefined;
  const captures = payments && Array.isArray(payments.captures) ? (payments.captures as unknown[]) : [];
  return captures
    .filter(isRecord)
    .find((c) => ['COMPLETED', 'PARTIALLY_REFUNDED', 'REFUNDED'].includes(stringField(c, 'status') ?? ''));
}

function firstUnit(order: Json): Json | undefined {
  return Array.isArray(order.purchase_units) ? (order.purchase_units as unknown[]).find(isRecord) : undefined;
}

function refundOutcomeOf(refund: Json): RefundOutcome {
  const id = stringField(refund, 'id');
  const status = stringField(refund, 'status');
  const base = id === undefined ? {} : { channelRefundId: id };
  switch (status) {
    case 'COMPLETED':
      return { status: 'SUCCEEDED', ...base };
    case 'FAILED':
    case 'CANCELLED':
      return { status: 'FAILED', ...base, reason: status };
    default:
      return { status: 'PROCESSING', ...base };
  }
}

/** A PEM bundle's certificates, in order. */
function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export function createPaypalAdapter(options: PaypalAdapterOptions): ChannelAdapter {
  const { keyring, maxAmount, timeoutMs, webhookMaxAgeSeconds = 600, now = () => new Date() } = options;
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const certUrlPrefix = new URL(options.certUrlPrefix).href;
  const root = new X509Certificate(keyring.rootCertificate);
  let token: { value: string; until: number } | undefined;
  const certificates = new Map<string, { key: Promise<KeyObject | string>; until: number }>();

  async function accessToken(): Promise<string> {
    if (token && token.until > Date.now()) return token.value;
    const secret = keyring.clientSecret;
    if (secret === undefined) {
      throw new Error('this process holds no PayPal client secret: only the worker calls the channels');
    }
    const response = await channelFetch(
      `${apiUrl}/v1/oauth2/token`,
      {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${keyring.clientId}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'grant_type=client_credentials',
      },
      timeoutMs,
    );
    const body: unknown = await response.json().catch(() => undefined);
    const value = isRecord(body) ? stringField(body, 'access_token') : undefined;
    if (!response.ok || value === undefined) {
      throw new ChannelRejectedError(
        `PayPal refused the client credentials (HTTP ${response.status})`,
        paypalIssueOf(body) ?? 'authentication_failed',
      );
    }
    const expiresIn = isRecord(body) && typeof body.expires_in === 'number' ? body.expires_in : 300;
    // Renewed a minute early, so a token never expires between our check and PayPal's.
    token = { value, until: Date.now() + Math.max(expiresIn - 60, 1) * 1000 };
    return value;
  }

  /** One API call with a bearer token; a 401 drops the token and tries once more with a new one. */
  async function api(
    method: 'GET' | 'POST',
    path: string,
    { body, requestId }: { body?: Json; requestId?: string } = {},
  ): Promise<{ status: number; body: Json }> {
    for (let attempt = 1; ; attempt += 1) {
      const bearer = await accessToken();
      const response = await channelFetch(
        `${apiUrl}${path}`,
        {
          method,
          headers: {
            authorization: `Bearer ${bearer}`,
            accept: 'application/json',
            prefer: 'return=representation',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(requestId === undefined ? {} : { 'paypal-request-id': requestId }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        },
        timeoutMs,
      );
      if (response.status === 401 && attempt === 1) {
        token = undefined;
        continue;
      }
      const parsed: unknown = await response.json().catch(() => undefined);
      if (!isRecord(parsed)) {
        throw new ChannelUnavailableError(
          `PayPal answered ${method} ${path.split('/').slice(0, 4).join('/')} without JSON`,
        );
      }
      return { status: response.status, body: parsed };
    }
  }

  const refused = (what: string, answer: { status: number; body: Json }): ChannelRejectedError =>
    new ChannelRejectedError(
      `PayPal refused ${what} (HTTP ${answer.status}: ${stringField(answer.body, 'message') ?? 'no message'})`,
      paypalIssueOf(answer.body) ?? `http_${answer.status}`,
    );

  /** An order as a trade, or NOT_FOUND when it is not this payment's. */
  function tradeOf(paymentId: string, order: Json): ChannelTrade {
    const unit = firstUnit(order);
    if (unit === undefined || stringField(unit, 'custom_id') !== paymentId) return { state: 'NOT_FOUND' };
    const ordered = minorUnitsOf(unit.amount);
    const capture = paidCapture(order);
    if (capture !== undefined) {
      const captured = minorUnitsOf(capture.amount);
      const channelTradeNo = stringField(capture, 'id');
      const paidAt = stringField(capture, 'create_time');
      return {
        state: 'PAID',
        ...(channelTradeNo === undefined ? {} : { channelTradeNo }),
        ...(captured ?? {}),
        ...(paidAt === undefined ? {} : { paidAt }),
      };
    }
    const states: Record<string, ChannelTradeState> = { APPROVED: 'APPROVED', VOIDED: 'CLOSED' };
    return { state: states[stringField(order, 'status') ?? ''] ?? 'NOT_PAID', ...(ordered ?? {}) };
  }

  async function queryOrder(paymentId: string, reference?: string): Promise<ChannelTrade> {
    if (reference === undefined) return { state: 'NOT_FOUND' };
    const answer = await api('GET', `/v2/checkout/orders/${encodeURIComponent(reference)}`);
    if (answer.status === 404) return { state: 'NOT_FOUND' };
    if (answer.status !== 200) throw refused(`the query of ${paymentId}`, answer);
    return tradeOf(paymentId, answer.body);
  }

  /** The certificate at `url`'s public key once trusted, or why not; kept a day per URL. */
  function signingKey(url: string): Promise<KeyObject | string> {
    const cached = certificates.get(url);
    if (cached && cached.until > Date.now()) return cached.key;
    if (cached) certificates.delete(url);
    const key = (async (): Promise<KeyObject | string> => {
      const download = async (): Promise<ArrayBuffer | 'certificate_unavailable'> => {
        const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
        return response.ok ? response.arrayBuffer() : 'certificate_unavailable';
      };
      let bytes: ArrayBuffer | 'certificate_unavailable';
      try {
        // Once more after a dropped connection (a kept-alive socket the host had closed).
        bytes = await download().catch(download);
      } catch {
        return 'certificate_unavailable';
      }
      if (typeof bytes === 'string') return bytes;
      if (bytes.byteLength > MAX_CERTIFICATE_BYTES) return 'malformed_certificate';
      const text = Buffer.from(bytes).toString('utf8');
      const [leaf, intermediate] = pemBlocks(text);
      if (leaf === undefined || intermediate === undefined) return 'malformed_certificate';
      let chain: X509Certificate;
      try {
        chain = new X509Certificate(intermediate);
      } catch {
        return 'malformed_certificate';
      }
      const trusted = verifyCertificateChain(
        leaf,
        { root, intermediate: chain },
        { now: now(), commonName: keyring.signerCommonName },
      );
      return trusted.ok ? trusted.publicKey : trusted.reason;
    })();
    // Only a trusted key is kept; an unavailable certificate is asked for again next time. A full
    // cache evicts nothing (unsigned posts naming new URLs must not push PayPal's key out).
    const forget = () => {
      if (certificates.get(url)?.key === key) certificates.delete(url);
    };
    key.then((result) => typeof result === 'string' && forget(), forget);
    if (certificates.size < CERTIFICATE_CACHE_SIZE)
      certificates.set(url, { key, until: Date.now() + CERTIFICATE_TTL_MS });
    return key;
  }

  /** The certificate URL when it is under the configured prefix, else undefined. */
  function allowedCertificateUrl(header: string): string | undefined {
    try {
      const url = new URL(header);
      if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
      return url.href.startsWith(certUrlPrefix) && url.href.length > certUrlPrefix.length ? url.href : undefined;
    } catch {
      return undefined;
    }
  }

  /** The payment an event says it is about, unverified: for the record of a refused one only. */
  function claimedPaymentId(body: Buffer): { outTradeNo?: string } {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      const resource = isRecord(parsed) && isRecord(parsed.resource) ? parsed.resource : undefined;
      const claimed =
        resource && (stringField(resource, 'custom_id') ?? stringField(firstUnit(resource) ?? {}, 'custom_id'));
      return claimed !== undefined && /^pay_[a-z2-7]{28}$/.test(claimed) ? { outTradeNo: claimed } : {};
    } catch {
      return {};
    }
  }

  async function verifyNotification(raw: RawCallback): Promise<VerificationResult> {
    const header = (name: string) => {
      const value = raw.headers[name];
      return value !== undefined && value.length <= 2048 ? value : undefined;
    };
    const transmissionId = header('paypal-transmission-id');
    const transmissionTime = header('paypal-transmission-time');
    const signature = header('paypal-transmission-sig');
    const certUrl = header('paypal-cert-url');
    const algorithm = header('paypal-auth-algo');
    const claimed = () => claimedPaymentId(raw.body);
    if (!transmissionId || !transmissionTime || !signature || !certUrl || !algorithm) {
      return { ok: false, reason: 'missing_signature', ...claimed() };
    }
    if (algorithm !== PAYPAL_AUTH_ALGO) return { ok: false, reason: 'unsupported_algorithm', ...claimed() };
    const sentAt = Date.parse(transmissionTime);
    if (!Number.isFinite(sentAt) || Math.abs(now().getTime() - sentAt) > webhookMaxAgeSeconds * 1000) {
      return { ok: false, reason: 'stale_timestamp', ...claimed() };
    }
    const url = allowedCertificateUrl(certUrl);
    if (url === undefined) return { ok: false, reason: 'untrusted_certificate_url', ...claimed() };
    const key = await signingKey(url);
    if (typeof key === 'string') return { ok: false, reason: key, ...claimed() };
    const signed = paypalTransmissionString(transmissionId, transmissionTime, keyring.webhookId, raw.body);
    let valid = false;
    try {
      valid = createVerify('RSA-SHA256').update(signed, 'utf8').verify(key, signature, 'base64');
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: 'bad_signature', ...claimed() };
    let event: unknown;
    try {
      event = JSON.parse(raw.body.toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed_body' };
    }
    if (!isRecord(event) || !isRecord(event.resource)) return { ok: false, reason: 'malformed_body' };
    return eventOf(event, event.resource);
  }

  /** A verified event in our terms. */
  function eventOf(event: Json, resource: Json): VerificationResult {
    const notificationId = stringField(event, 'id');
    const type = stringField(event, 'event_type');
    if (notificationId === undefined || type === undefined) return { ok: false, reason: 'malformed_body' };
    const merchant = { merchantId: keyring.clientId, appId: keyring.clientId };
    if (type === PAYPAL_EVENTS.approved) {
      const unit = firstUnit(resource);
      const outTradeNo = unit && stringField(unit, 'custom_id');
      const orderId = stringField(resource, 'id');
      const money = unit && minorUnitsOf(unit.amount);
      if (outTradeNo === undefined || orderId === undefined) return { ok: false, reason: 'malformed_body' };
      if (money === undefined) return { ok: false, reason: 'bad_amount' };
      return {
        ok: true,
        kind: 'payment',
        notification: {
          channel: 'paypal',
          notificationId,
          outTradeNo,
          channelTradeNo: orderId,
          state: 'APPROVED',
          ...money,
          ...merchant,
        },
      };
    }
    if (
      type === PAYPAL_EVENTS.captureCompleted ||
      type === PAYPAL_EVENTS.captureDenied ||
      type === PAYPAL_EVENTS.capturePending
    ) {
      const outTradeNo = stringField(resource, 'custom_id');
      const captureId = stringField(resource, 'id');
      const money = minorUnitsOf(resource.amount);
      if (outTradeNo === undefined || captureId === undefined) return { ok: false, reason: 'malformed_body' };
      if (money === undefined) return { ok: false, reason: 'bad_amount' };
      const paid = type === PAYPAL_EVENTS.captureCompleted && stringField(resource, 'status') === 'COMPLETED';
      const paidAt = stringField(resource, 'create_time');
      return {
        ok: true,
        kind: 'payment',
        notification: {
          channel: 'paypal',
          notificationId,
          outTradeNo,
          channelTradeNo: captureId,
          state: paid ? 'PAID' : 'NOT_PAID',
          ...money,
          ...merchant,
          ...(paid && paidAt !== undefined ? { paidAt } : {}),
        },
      };
    }
    if (type === PAYPAL_EVENTS.captureRefunded) {
      const outTradeNo = stringField(resource, 'custom_id');
      const refundId = stringField(resource, 'invoice_id');
      const money = minorUnitsOf(resource.amount);
      if (outTradeNo === undefined || refundId === undefined) return { ok: false, reason: 'malformed_body' };
      if (money === undefined) return { ok: false, reason: 'bad_amount' };
      const outcome = refundOutcomeOf(resource);
      return {
        ok: true,
        kind: 'refund',
        refund: {
          channel: 'paypal',
          notificationId,
          outTradeNo,
          refundId,
          ...(outcome.channelRefundId === undefined ? {} : { channelRefundId: outcome.channelRefundId }),
          status: outcome.status,
          amount: money.amount,
          currency: money.currency,
          merchantId: keyring.clientId,
          ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        },
      };
    }
    return { ok: false, reason: 'unknown_event_type' };
  }

  return {
    channel: 'paypal',
    keepsReferences: true,

    supports(currency: Currency, amount: number): boolean {
      return PAYPAL_CURRENCIES.includes(currency) && amount >= 1 && amount <= maxAmount;
    },

    async createOrder(request: CreateChannelOrderRequest): Promise<ChannelOrder> {
      const answer = await api('POST', '/v2/checkout/orders', {
        requestId: `create-${request.paymentId}`,
        body: {
          intent: 'CAPTURE',
          purchase_units: [
            {
              reference_id: 'default',
              custom_id: request.paymentId,
              invoice_id: request.paymentId,
              description: truncate(request.subject, 127),
              amount: paypalMoney(request.amount, request.currency),
            },
          ],
          payment_source: {
            paypal: { experience_context: { user_action: 'PAY_NOW', shipping_preference: 'NO_SHIPPING' } },
          },
        },
      });
      if (answer.status !== 200 && answer.status !== 201) throw refused(`the order of ${request.paymentId}`, answer);
      const order = answer.body;
      const orderId = stringField(order, 'id');
      const trade = tradeOf(request.paymentId, order);
      if (orderId === undefined || trade.state === 'NOT_FOUND') {
        throw new ChannelRejectedError('PayPal answered another payment’s order', 'malformed_response');
      }
      if (trade.state === 'PAID')
        throw new ChannelRejectedError(`PayPal order ${orderId} is already paid`, 'already_paid');
      if (trade.state === 'CLOSED') throw new ChannelRejectedError(`PayPal order ${orderId} is voided`, 'order_closed');
      const links = Array.isArray(order.links) ? (order.links as unknown[]).filter(isRecord) : [];
      const approve = links.find((l) => ['payer-action', 'approve'].includes(stringField(l, 'rel') ?? ''));
      const payUrl = approve && stringField(approve, 'href');
      if (payUrl === undefined || !/^https?:\/\//.test(payUrl)) {
        throw new ChannelRejectedError(`PayPal order ${orderId} came without an approval link`, 'malformed_response');
      }
      return { channel: 'paypal', payUrl, merchantId: keyring.clientId, reference: orderId };
    },

    queryOrder,

    async captureOrder(paymentId: string, reference?: string, attempt = 0): Promise<ChannelTrade> {
      if (reference === undefined) return { state: 'NOT_FOUND' };
      // An order with intent CAPTURE is captured once at most, whatever the request id.
      const answer = await api('POST', `/v2/checkout/orders/${encodeURIComponent(reference)}/capture`, {
        requestId: attempt === 0 ? `capture-${paymentId}` : `capture-${paymentId}-${attempt}`,
        body: {},
      });
      if (answer.status === 404) return { state: 'NOT_FOUND' };
      if (answer.status === 200 || answer.status === 201) {
        const trade = tradeOf(paymentId, answer.body);
        // A capture PayPal holds (pending) or declined leaves the order unpaid; its webhook follows.
        return trade.state === 'PAID' || trade.state === 'NOT_FOUND' ? trade : { ...trade, state: 'NOT_PAID' };
      }
      const issue = paypalIssueOf(answer.body);
      if (issue === 'ORDER_ALREADY_CAPTURED') return queryOrder(paymentId, reference);
      if (answer.status === 422 && issue !== undefined) {
        // The payer's funding was declined, or the order is not (or no longer) approved.
        return { state: 'NOT_PAID', declineReason: issue };
      }
      throw refused(`the capture of ${paymentId}`, answer);
    },

    /**
     * PayPal has no call that voids an order: one that is not captured moves no money and lapses.
     * So closing asks PayPal, and from then on the saga never captures it.
     */
    async closeOrder(paymentId: string, reference?: string): Promise<CloseResult> {
      const trade = await queryOrder(paymentId, reference);
      if (trade.state === 'NOT_FOUND') return 'NOT_FOUND';
      return trade.state === 'PAID' ? 'ALREADY_PAID' : 'CLOSED';
    },

    async refund(request: RefundRequest): Promise<RefundOutcome> {
      const payment = await queryOrder(request.paymentId, request.orderReference);
      if (payment.state !== 'PAID' || payment.channelTradeNo === undefined) {
        throw new ChannelRejectedError(`PayPal holds no capture for ${request.paymentId}`, 'trade_not_paid');
      }
      const answer = await api('POST', `/v2/payments/captures/${encodeURIComponent(payment.channelTradeNo)}/refund`, {
        requestId: `refund-${request.refundId}`,
        body: {
          amount: paypalMoney(request.amount, request.currency),
          invoice_id: request.refundId,
          custom_id: request.paymentId,
          note_to_payer: truncate(request.reason, 255),
        },
      });
      if (answer.status === 200 || answer.status === 201) return refundOutcomeOf(answer.body);
      if (answer.status === 422) {
        // A refusal of this refund (more than is left, a capture fully refunded) is its outcome.
        return { status: 'FAILED', reason: paypalIssueOf(answer.body) ?? 'UNPROCESSABLE_ENTITY' };
      }
      throw refused(`refund ${request.refundId}`, answer);
    },

    async queryRefund(_paymentId: string, refundId: string, reference?: string): Promise<RefundOutcome> {
      if (reference === undefined) return { status: 'PROCESSING' };
      const answer = await api('GET', `/v2/payments/refunds/${encodeURIComponent(reference)}`);
      if (answer.status !== 200) throw refused(`the query of refund ${refundId}`, answer);
      return refundOutcomeOf(answer.body);
    },

    /**
     * The Beijing day's transactions from Transaction Search, every page of them, checked to add
     * up to the count PayPal gives: its captures and refunds, with `custom_id` and `invoice_id`
     * echoed. PayPal's data lags up to three hours,
     * so a day is best read after the morning (the schedule's default).
     */
    async downloadBill(date: string): Promise<ChannelBill> {
      const { start, end } = dayBounds(date, BILL_UTC_OFFSET_MINUTES);
      const lines: BillLine[] = [];
      let read = 0;
      for (let page = 1; ; page += 1) {
        const query = new URLSearchParams({
          start_date: paypalSearchTime(start, BILL_UTC_OFFSET_MINUTES),
          end_date: paypalSearchTime(new Date(end.getTime() - 1), BILL_UTC_OFFSET_MINUTES),
          fields: 'transaction_info',
          page_size: String(PAYPAL_SEARCH_MAX_PAGE_SIZE),
          page: String(page),
        });
        const answer = await api('GET', `/v1/reporting/transactions?${query.toString()}`);
        if (answer.status !== 200) {
          if (paypalIssueOf(answer.body) === PAYPAL_DATA_NOT_AVAILABLE) {
            throw new ChannelRejectedError(`PayPal has no transactions for ${date} yet`, 'bill_not_ready');
          }
          throw refused(`the transactions of ${date}`, answer);
        }
        const answered = readPaypalTransactionPage(answer.body);
        lines.push(...answered.lines);
        read += answered.count;
        if (page >= answered.totalPages) {
          if (read !== answered.totalItems) {
            throw new ChannelRejectedError(
              `PayPal's transactions of ${date} came to ${read}, not the ${answered.totalItems} it counted`,
              'malformed_bill',
            );
          }
          break;
        }
        if (page >= MAX_BILL_PAGES) {
          throw new ChannelRejectedError(
            `PayPal's transactions of ${date} run past ${MAX_BILL_PAGES} pages`,
            'malformed_bill',
          );
        }
      }
      return { channel: 'paypal', date, lines };
    },

    verifyNotification,

    /** PayPal stops resending on any 2xx. */
    ackSuccess(): ChannelAck {
      return { status: 200, contentType: 'text/plain', body: 'ok' };
    },

    /** Anything but 2xx makes PayPal resend; the reason stays in our records. */
    ackFailure(_reason: string): ChannelAck {
      return { status: 400, contentType: 'text/plain', body: 'fail' };
    },
  };
}
