import { randomUUID } from 'node:crypto';
import type { RequestHandler, RequestParamHandler } from 'express';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { addToLogContext, currentLogContext, withLogContext, type LogContext, type Logger } from '../logger.js';
import { PAYMENT_ID_PATTERN } from '../payments/identity.js';
import { routePattern } from './metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Tags every request with an id (the caller's `X-Request-Id` if sane) that every log line written
 * while handling it carries, with the payment's id once a route knows it; logs one line per answer.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID()}`;
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const logContext: LogContext = { requestId };
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        {
          ...logContext,
          method: req.method,
          path: req.baseUrl + req.path,
          status: res.statusCode,
          ms: Math.round(ms),
          ...(res.locals.platformKeyId ? { keyId: res.locals.platformKeyId } : {}),
        },
        'request',
      );
    });
    withLogContext(logContext, next);
  };
}

/** `router.param('paymentId', ...)`: a well-formed payment id in the path joins the request's log context. */
export const paymentIdInLogs: RequestParamHandler = (_req, _res, next, paymentId) => {
  if (typeof paymentId === 'string' && PAYMENT_ID_PATTERN.test(paymentId)) addToLogContext({ paymentId });
  next();
};

/**
 * One server span per request (only with tracing on), the parent of the Temporal client's spans
 * the request causes. It continues the caller's trace when the request carries a W3C
 * `traceparent`. Named and tagged by route pattern and status; the only id it carries is the
 * payment's (`payment.id`), never the path, a query or anything personal.
 */
export function requestSpan(tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      req.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } },
      parent,
    );
    const logContext = currentLogContext();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = routePattern(req);
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (logContext?.paymentId) span.setAttribute('payment.id', logContext.paymentId);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.on('finish', end);
    res.on('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}
