import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isDuplicateKeyError } from '../db/errors.js';
import { isTemporalTransientError } from '../temporal/errors.js';
import type { Logger } from '../logger.js';

/** The `type` of every error the API answers with; each maps to one HTTP status family. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'method_not_allowed_error'
  | 'conflict_error'
  | 'idempotency_error'
  | 'validation_error'
  | 'rate_limit_error'
  | 'service_unavailable_error'
  | 'api_error';

/**
 * Every `code` the API answers with, and the status and type it comes with: the one list that
 * `ApiError` takes its codes from and the API document (src/api/openapi.ts) is held to.
 * `sandbox: true` marks the codes only the sandbox control API answers.
 */
export const API_ERRORS = {
  malformed_json: { status: 400, type: 'invalid_request_error' },
  body_too_deep: { status: 400, type: 'invalid_request_error' },
  bad_body: { status: 400, type: 'invalid_request_error' },
  bad_request: { status: 400, type: 'invalid_request_error' },
  malformed_path: { status: 400, type: 'invalid_request_error' },
  idempotency_key_invalid: { status: 400, type: 'invalid_request_error' },
  authentication_required: { status: 401, type: 'authentication_error' },
  signature_invalid: { status: 401, type: 'authentication_error' },
  timestamp_out_of_range: { status: 401, type: 'authentication_error' },
  nonce_reused: { status: 401, type: 'authentication_error' },
  staff_token_missing: { status: 401, type: 'authentication_error' },
  staff_token_invalid: { status: 401, type: 'authentication_error' },
  codec_unauthorized: { status: 401, type: 'authentication_error' },
  metrics_unauthorized: { status: 401, type: 'authentication_error' },
  staff_forbidden: { status: 403, type: 'permission_error' },
  four_eyes_required: { status: 403, type: 'permission_error' },
  staff_ticket_invalid: { status: 403, type: 'permission_error' },
  host_not_allowed: { status: 403, type: 'permission_error' },
  origin_not_allowed: { status: 403, type: 'permission_error' },
  route_not_found: { status: 404, type: 'not_found_error' },
  payment_not_found: { status: 404, type: 'not_found_error' },
  refund_not_found: { status: 404, type: 'not_found_error' },
  voucher_not_found: { status: 404, type: 'not_found_error' },
  unknown_channel: { status: 404, type: 'not_found_error' },
  reconciliation_not_found: { status: 404, type: 'not_found_error' },
  exception_not_found: { status: 404, type: 'not_found_error' },
  checkout_link_invalid: { status: 404, type: 'not_found_error' },
  checkout_link_expired: { status: 410, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'method_not_allowed_error' },
  order_conflict: { status: 409, type: 'conflict_error' },
  payment_not_cancelable: { status: 409, type: 'conflict_error' },
  payment_not_refundable: { status: 409, type: 'conflict_error' },
  refund_not_pending_review: { status: 409, type: 'conflict_error' },
  nothing_to_do: { status: 409, type: 'conflict_error' },
  exception_already_resolved: { status: 409, type: 'conflict_error' },
  method_unavailable: { status: 409, type: 'conflict_error' },
  order_closed: { status: 409, type: 'conflict_error', sandbox: true },
  order_expired: { status: 409, type: 'conflict_error', sandbox: true },
  discrepancy_refused: { status: 409, type: 'conflict_error', sandbox: true },
  idempotency_key_reused: { status: 409, type: 'idempotency_error' },
  idempotency_request_in_progress: { status: 409, type: 'idempotency_error' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  unsupported_encoding: { status: 415, type: 'invalid_request_error' },
  invalid_parameter: { status: 422, type: 'validation_error' },
  unknown_parameter: { status: 422, type: 'validation_error' },
  missing_parameter: { status: 422, type: 'validation_error' },
  no_channel_available: { status: 422, type: 'validation_error' },
  return_url_not_allowed: { status: 422, type: 'validation_error' },
  refund_exceeds_refundable: { status: 422, type: 'validation_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  risk_blocked: { status: 403, type: 'permission_error' },
  internal_error: { status: 500, type: 'api_error' },
  storage_unavailable: { status: 503, type: 'service_unavailable_error' },
  request_timeout: { status: 503, type: 'service_unavailable_error' },
  codec_busy: { status: 503, type: 'service_unavailable_error' },
  channels_unavailable: { status: 503, type: 'service_unavailable_error' },
  fx_rate_unavailable: { status: 503, type: 'service_unavailable_error' },
  idempotency_record_unreadable: { status: 503, type: 'service_unavailable_error' },
  sandbox_unavailable: { status: 503, type: 'service_unavailable_error', sandbox: true },
} as const satisfies Record<string, { status: number; type: ApiErrorType; sandbox?: true }>;

export type ApiErrorCode = keyof typeof API_ERRORS;
export const API_ERROR_CODES = Object.keys(API_ERRORS) as ApiErrorCode[];

export function isApiErrorCode(value: string): value is ApiErrorCode {
  return Object.hasOwn(API_ERRORS, value);
}

/** A failure the API reports to its caller as `{ error: { type, code, message, param?, requestId } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    readonly code: ApiErrorCode,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { type: ApiErrorType; code: ApiErrorCode; message: string; param?: string; requestId: string };
}

export function errorBody(error: ApiError, requestId: string): ErrorBody {
  return {
    error: {
      type: error.type,
      code: error.code,
      message: error.message,
      ...(error.param === undefined ? {} : { param: error.param }),
      requestId,
    },
  };
}

/** body-parser's errors carry `type` and `status`; turn the ones a caller caused into 4xx. */
function fromBodyParser(err: unknown): ApiError | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  switch ((err as { type: unknown }).type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_request_error', 'malformed_json', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new ApiError(
        413,
        'invalid_request_error',
        'body_too_large',
        'The request body is larger than the API accepts.',
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'invalid_request_error', 'unsupported_encoding', 'Send the body as UTF-8 JSON.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError(400, 'invalid_request_error', 'bad_body', 'The request body could not be read.');
    default:
      return undefined;
  }
}

const SOCKET_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT']);

/**
 * A socket error the MongoDB driver lets through unwrapped (a write to a connection the server
 * closed as it died: `EPIPE`, "This socket has been ended by the other party").
 */
function isDriverSocketError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && SOCKET_CODES.has(code) && /[/\\]mongodb[/\\]/.test(err.stack ?? '');
}

/**
 * MongoDB busy or unreachable (a driver error, whatever the operation): the request did not
 * happen, or happened idempotently, so the caller may retry it. 503, not 500.
 */
function fromStorage(err: unknown): ApiError | undefined {
  if (!(err instanceof Error) || isDuplicateKeyError(err)) return undefined;
  if (!/^Mongo/.test(err.name) && !isDriverSocketError(err)) return undefined;
  return new ApiError(
    503,
    'service_unavailable_error',
    'storage_unavailable',
    'Storage is busy or unreachable; retry the request (with the same Idempotency-Key) in a moment.',
  );
}

/**
 * Temporal busy, restarting or unreachable (a query no worker took in time, an update refused
 * while the workflow's task is retried): nothing happened twice, the caller may retry. 503.
 */
function fromTemporal(err: unknown): ApiError | undefined {
  if (!isTemporalTransientError(err)) return undefined;
  return new ApiError(
    503,
    'service_unavailable_error',
    'request_timeout',
    'The payment engine is busy or restarting; retry the request (with the same Idempotency-Key) in a moment.',
  );
}

/**
 * Errors raised by Express itself for a caller's mistake carry a 4xx `status` (a malformed
 * percent-escape in the path is a `URIError` with status 400): a 400, never a 500.
 */
function fromExpress(err: unknown): ApiError | undefined {
  if (err instanceof URIError) {
    return new ApiError(
      400,
      'invalid_request_error',
      'malformed_path',
      'The request path is not valid percent-encoding.',
    );
  }
  const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(400, 'invalid_request_error', 'bad_request', 'The request could not be understood.');
  }
  return undefined;
}

/** The codes of a request nothing serves: no such route, or not with this method. */
export const ROUTING_ERROR_CODES: ReadonlySet<string> = new Set<ApiErrorCode>([
  'route_not_found',
  'method_not_allowed',
]);

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found_error', 'route_not_found', `No route ${req.method} ${req.baseUrl + req.path}.`));
};

/** Answers 405 for a known path asked with a method it does not serve. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Allow', allowed.join(', '));
    next(
      new ApiError(
        405,
        'method_not_allowed_error',
        'method_not_allowed',
        `${req.method} is not allowed here; use ${allowed.join(' or ')}.`,
      ),
    );
  };
}

/**
 * `Retry-After` (seconds) for an answer worth retrying with the same request: a request under the
 * same Idempotency-Key still running (1 s), or the service briefly unable to answer (2 s). Clients
 * that honour it pace their retries instead of adding to the load that made them wait.
 */
export function retryAfterSeconds(error: ApiError): number | undefined {
  if (error.code === 'idempotency_request_in_progress') return 1;
  // An unreadable stored answer stays unreadable: the message says to use a new key instead.
  return error.status === 503 && error.code !== 'idempotency_record_unreadable' ? 2 : undefined;
}

/** The one error middleware: every error leaves the API in the same JSON shape, never cached. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.locals.requestId ?? 'unknown');
    const known = err instanceof ApiError ? err : (fromBodyParser(err) ?? fromExpress(err));
    const unavailable = known ? undefined : (fromStorage(err) ?? fromTemporal(err));
    if (unavailable) logger.warn({ err: (err as Error).message, requestId }, 'storage or Temporal unavailable');
    const apiError =
      known ??
      unavailable ??
      new ApiError(
        500,
        'api_error',
        'internal_error',
        'Something went wrong on our side; retry later with the same request.',
      );
    if (res.headersSent) {
      // Answered already (a response timeout): the late failure is only worth a note.
      if (!known) logger.warn({ err: (err as Error).message, requestId }, 'error after the answer was sent');
      return;
    }
    if (!known && !unavailable)
      logger.error({ err, requestId, method: req.method, path: req.baseUrl + req.path }, 'unhandled error');
    // An error answers one request: no cache may keep it (nor the request id it carries).
    res.setHeader('Cache-Control', 'no-store');
    const retryAfter = retryAfterSeconds(apiError);
    if (retryAfter !== undefined && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', String(retryAfter));
    res.status(apiError.status).json(errorBody(apiError, requestId));
  };
}
