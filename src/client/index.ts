import { randomUUID } from 'node:crypto';
import type { RefundView } from '../../domain/refunds.js';
import type { z } from 'zod';
import type { createCancelRequestSchema, createPaymentRequestSchema } from '../api/schemas.js';
import type { PaymentView } from '../../domain/payment.js';
import { signatureHeaders, type PlatformKey } from '../crypto/request-signing.js';

export { signatureHeaders, computeSignature, stringToSign, type PlatformKey } from '../crypto/request-signing.js';

/** The body of `POST /v1/payments`. */
export type CreatePaymentRequest = z.input<ReturnType<typeof createPaymentRequestSchema>>;
export type CancelPaymentRequest = z.input<ReturnType<typeof createCancelRequestSchema>>;
/** The answer to a create: what the learner needs to go and pay. */
export type CreatedPayment = Pick<
  PaymentView,
  'paymentId' | 'orderId' | 'status' | 'amount' | 'currency' | 'channel' | 'payUrl' | 'expiresAt'
>;

export interface PlatformClientOptions extends PlatformKey {
  /** The API's base URL, e.g. `https://pay.example.com`. */
  baseUrl: string;
  /** Timeout of one attempt, in milliseconds (default 35 s, longer than the API's own 30 s). */
  timeoutMs?: number;
  /**
   * Further attempts after a network error, a 429, a 5xx or a 409 saying the first attempt is
   * still running (default 2). Safe: GETs change nothing and every POST carries one key throughout.
   */
  maxRetries?: number;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the answer was not JSON. */
  body: unknown;
}

export interface SendOptions {
  /** A JSON-able value, or a string sent as is. */
  body?: unknown;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
}

/** An error answer of the API, with its `{ error: { type, code, message, param, requestId } }`. */
export class PlatformApiError extends Error {
  override readonly name = 'PlatformApiError';
  readonly type: string;
  readonly code: string;
  readonly param: string | undefined;
  readonly requestId: string | undefined;
  constructor(
    readonly status: number,
    body: unknown,
  ) {
    const error = (body as { error?: Record<string, string> } | undefined)?.error ?? {};
    super(error.message ?? `HTTP ${status}`);
    this.type = error.type ?? 'api_error';
    this.code = error.code ?? 'unknown';
    this.param = error.param;
    this.requestId = error.requestId;
  }
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryable(response: RawResponse): boolean {
  if (RETRYABLE.has(response.status)) return true;
  const code = (response.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return response.status === 409 && code === 'idempotency_request_in_progress';
}

/** `Retry-After` in seconds or as an HTTP date, in milliseconds from now (0 when absent or unreadable). */
function retryAfterMs(header: string | null): number {
  if (header === null) return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

/**
 * A small typed client for platform backends. Every request is signed (HMAC-SHA256, see
 * signing.ts) with a fresh nonce; every POST carries an `Idempotency-Key` (one is generated when
 * none is given), so the client's own retries never create a second payment.
 */
export class PlatformClient {
  private readonly baseUrl: string;
  private readonly key: PlatformKey;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;

  constructor(options: PlatformClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.key = { keyId: options.keyId, secret: options.secret };
    this.timeoutMs = options.timeoutMs ?? 35_000;
    this.maxRetries = options.maxRetries ?? 2;
  }

  /** Opens (or, for the same order and parameters, answers again) a payment. */
  async createPayment(request: CreatePaymentRequest, options: { idempotencyKey?: string } = {}) {
    return this.expect<CreatedPayment>('POST', '/v1/payments', {
      body: request,
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    });
  }

  async getPayment(paymentId: string): Promise<PaymentView> {
    return this.expect<PaymentView>('GET', `/v1/payments/${encodeURIComponent(paymentId)}`);
  }

  async cancelPayment(
    paymentId: string,
    request: CancelPaymentRequest = {},
    options: { idempotencyKey?: string } = {},
  ) {
    return this.expect<PaymentView>('POST', `/v1/payments/${encodeURIComponent(paymentId)}/cancel`, {
      body: request,
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    });
  }

  /**
   * Asks for a refund of part or all of a paid payment (integer minor units). Keep the
   * `idempotencyKey` of a request you retry: it answers the first refund, never a second one.
   */
  async requestRefund(
    paymentId: string,
    request: { amount: number; reason: string; metadata?: Record<string, string> },
    options: { idempotencyKey?: string } = {},
  ) {
    return this.expect<RefundView>('POST', `/v1/payments/${encodeURIComponent(paymentId)}/refunds`, {
      body: request,
      ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    });
  }

  async getRefund(paymentId: string, refundId: string): Promise<RefundView> {
    return this.expect<RefundView>(
      'GET',
      `/v1/payments/${encodeURIComponent(paymentId)}/refunds/${encodeURIComponent(refundId)}`,
    );
  }

  /** Sends one signed request and answers whatever came back (no error for 4xx/5xx). */
  async send(method: string, pathWithQuery: string, options: SendOptions = {}): Promise<RawResponse> {
    const upper = method.toUpperCase();
    const payload =
      options.body === undefined ? '' : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const idempotencyKey = options.idempotencyKey ?? (upper === 'POST' ? randomUUID() : undefined);
    const retries = options.maxRetries ?? this.maxRetries;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.attempt(upper, pathWithQuery, payload, idempotencyKey, options.headers);
        if (attempt >= retries || !retryable(response)) return response;
        await sleep(Math.min(Math.max(retryAfterMs(response.headers.get('retry-after')), 250 * 2 ** attempt), 10_000));
      } catch (err) {
        if (attempt >= retries) throw err;
        await sleep(250 * 2 ** attempt);
      }
    }
  }

  private async attempt(
    method: string,
    pathWithQuery: string,
    payload: string,
    idempotencyKey: string | undefined,
    extra: Record<string, string> = {},
  ): Promise<RawResponse> {
    // Signed over the target exactly as it goes on the wire (fetch normalises and percent-encodes
    // the path), and again on every attempt: a nonce is good for one request only.
    const url = new URL(`${this.baseUrl}${pathWithQuery}`);
    const headers: Record<string, string> = {
      ...signatureHeaders(this.key, { method, pathWithQuery: url.pathname + url.search, body: payload }),
      ...(payload === '' ? {} : { 'content-type': 'application/json' }),
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      ...extra,
    };
    const res = await fetch(url, {
      method,
      headers,
      ...(payload === '' ? {} : { body: payload }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let body: unknown = text === '' ? undefined : text;
    try {
      if (text !== '') body = JSON.parse(text);
    } catch {
      // not JSON: the caller sees the text
    }
    return { status: res.status, headers: res.headers, body };
  }

  private async expect<T>(method: string, path: string, options: SendOptions = {}): Promise<T> {
    const res = await this.send(method, path, options);
    if (res.status >= 400) throw new PlatformApiError(res.status, res.body);
    return res.body as T;
  }
}
