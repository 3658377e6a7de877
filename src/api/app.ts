import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Tracer } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { ChannelAdapter } from '../channels/types.js';
import { riskRulesOf, type Config } from '../config.js';
import { riskRulesOn } from '../../domain/risk.js';
import { FieldCipher } from '../crypto/field-cipher.js';
import type { ApiKeyring } from '../crypto/keyring.js';
import type { Models } from '../db/connect.js';
import type { Logger } from '../logger.js';
import { MessageSealer } from '../temporal/message-seal.js';
import { createPaymentService } from '../payments/service.js';
import { rateSourceFrom } from '../fx/rates.js';
import { channelHealthFor, channelsWithBills, enabledChannels } from '../worker/activity-deps.js';
import type { PaymentChannel } from '../../domain/payment.js';
import type { PlatformKey } from '../crypto/request-signing.js';
import { jsonBody, parseJson, readRawBody, requireJson } from './body.js';
import { ApiError, errorBody, errorHandler, notFound, retryAfterSeconds } from './errors.js';
import { idempotency } from './idempotency.js';
import { platformAuth } from './platform-auth.js';
import { staffAuth } from './staff-auth.js';
import { rateLimit } from './rate-limit.js';
import { requestContext, requestSpan } from './request-context.js';
import { forwardToSandbox } from './sandbox-forward.js';
import { buildOpenApiDocument } from './openapi.js';
import { callbackRoutes } from './routes/callbacks.js';
import { docsRoutes } from './routes/docs.js';
import { codecRoutes } from './routes/codec.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { loadDashboardAssets } from '../dashboard/assets.js';
import { checkoutRoutes } from './routes/checkout.js';
import { loadCheckoutAssets } from '../checkout/assets.js';
import { checkoutLinkKey } from '../checkout/link.js';
import { receiptRoutes } from './routes/receipts.js';
import { loadReceiptAssets } from '../receipts/assets.js';
import { healthRoutes, type Dependency } from './routes/health.js';
import { paymentRoutes } from './routes/payments.js';
import { staffRoutes } from './routes/staff.js';
import { staffChannelRoutes } from './routes/staff-channels.js';
import { staffPaymentRoutes } from './routes/staff-payments.js';
import { staffStatsRoutes } from './routes/staff-stats.js';
import { staffReconciliationRoutes } from './routes/staff-reconciliations.js';
import { createReconciliationService } from '../payments/reconciliation.js';
import { metricsRoutes } from './routes/metrics.js';
import { createApiMetrics } from './metrics.js';
import { createStatsRollups } from '../stats/rollups.js';
import { voucherRoutes } from './routes/vouchers.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  temporal: { client: Client } & Dependency;
  database: { models: Models } & Dependency;
  keyring: ApiKeyring;
  channels: Record<PaymentChannel, ChannelAdapter>;
  /** The payload codec of the Temporal client, served to the Web UI at `/codec`. */
  codec: PayloadCodec;
  /** The keys platform requests are signed with (`PLATFORM_KEYS`, or the development key). */
  platformKeys: readonly PlatformKey[];
  /** With tracing on (src/telemetry/tracing.ts): every request gets a server span. */
  tracer?: Tracer;
}

/** How soon a retry takes over the Idempotency-Key of a request whose API process died. */
const IDEMPOTENCY_LOCK_MS = 15_000;

/** `Cache-Control: no-store` on every answer below this point (a route may still choose otherwise). */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** `API_TRUST_PROXY` as Express takes it: a boolean, a hop count, or a list of addresses. */
function trustProxySetting(value: string): boolean | number | string {
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** A request still unanswered after `ms` gets a 503 it may retry (with the same Idempotency-Key). */
function responseTimeout(ms: number): RequestHandler {
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      res.locals.timedOut = true;
      const error = new ApiError(
        503,
        'service_unavailable_error',
        'request_timeout',
        'The request took too long; retry it with the same Idempotency-Key.',
      );
      res.setHeader('Retry-After', String(retryAfterSeconds(error)));
      res.status(503).json(errorBody(error, String(res.locals.requestId)));
    }, ms);
    res.on('close', () => clearTimeout(timer));
    next();
  };
}

export function createApp({
  config,
  logger,
  temporal,
  database,
  keyring,
  platformKeys,
  channels,
  codec,
  tracer,
}: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Behind a load balancer, the client address comes from the proxies the operator trusts.
  app.set('trust proxy', trustProxySetting(config.API_TRUST_PROXY));
  // Security headers on every answer (CSP, nosniff, frame and referrer policies, HSTS).
  app.use(helmet());
  app.use(requestContext(logger));
  if (tracer) app.use(requestSpan(tracer));
  const metrics = createApiMetrics();
  app.use(metrics.observe);
  app.use(responseTimeout(config.API_RESPONSE_TIMEOUT_MS));
  app.use(healthRoutes([temporal, database], config.DEPENDENCY_TIMEOUT_MS, logger));
  app.use(metricsRoutes({ registry: metrics.registry, token: config.METRICS_TOKEN }));
  // Payment and staff data, and every error about them, is for the caller only: no cache keeps it.
  app.use(['/v1', '/staff/v1'], noStore);
  app.use(docsRoutes(buildOpenApiDocument({ maxAmount: config.PAYMENT_MAX_AMOUNT })));
  app.use(
    '/codec',
    codecRoutes({
      codec,
      token: keyring.codecServerToken,
      corsOrigins: config.CODEC_CORS_ORIGINS.split(',').map((o) => o.trim()),
      publicBaseUrl: config.PUBLIC_BASE_URL,
      allowedHosts: (config.CODEC_ALLOWED_HOSTS ?? '').split(',').filter((h) => h.trim() !== ''),
      maxPayloads: config.CODEC_MAX_PAYLOADS,
      bodyLimitBytes: config.CODEC_BODY_LIMIT_BYTES,
      rateLimitPerMinute: config.CODEC_RATE_LIMIT_PER_MINUTE,
      models: database.models,
      logger,
    }),
  );
  const models = database.models;
  const bodyLimit = config.API_BODY_LIMIT_BYTES;
  const fieldCipher = new FieldCipher(keyring.atRest);
  const sealer = new MessageSealer(keyring.workflowMessageKey);
  const payments = createPaymentService({
    riskCheck: riskRulesOn(riskRulesOf(config)),
    client: temporal.client,
    models,
    logger,
    config,
    channels,
    enabledChannels: enabledChannels(config),
    appIds: {
      alipay: keyring.alipay.appId,
      wechatpay: keyring.wechatpay.appId,
      unionpay: keyring.unionpay?.merId ?? '',
      card: keyring.card?.accountId ?? '',
      paypal: keyring.paypal?.clientId ?? '',
    },
    merchantIds: {
      alipay: keyring.alipay.sellerId,
      wechatpay: keyring.wechatpay.mchId,
      unionpay: keyring.unionpay?.merId ?? '',
      card: keyring.card?.accountId ?? '',
      paypal: keyring.paypal?.clientId ?? '',
    },
    paymentIdKey: keyring.paymentIdKey,
    fieldCipher,
    sealer,
    rates: rateSourceFrom(config),
    onCallback: metrics.callback,
  });
  // Callbacks come in each channel's own format: raw bytes, before any JSON parsing; limited per
  // client address and, when configured, to the channels' address ranges.
  app.use(
    '/v1/callbacks',
    callbackRoutes({
      payments,
      models,
      bodyLimitBytes: bodyLimit,
      rateLimitPerMinute: config.CALLBACK_RATE_LIMIT_PER_MINUTE,
      allowedSources: config.CALLBACK_ALLOWED_CIDRS,
    }),
    // The public mounts end here: what they do not serve is a 404, not a demand for a signature.
    notFound,
  );
  // Voucher reads are public (anyone holding a voucher may check it), limited per client address.
  app.use(
    '/v1/vouchers',
    rateLimit({
      models,
      scope: 'public',
      limitPerMinute: config.PUBLIC_RATE_LIMIT_PER_MINUTE,
      callerOf: (req) => req.ip ?? req.socket.remoteAddress ?? 'unknown',
    }),
    ...jsonBody(bodyLimit),
    voucherRoutes({ models, voucherKeys: keyring.vouchers }),
    notFound,
  );
  // Everything else under /v1 is for the platform backend only: signed, rate limited per key,
  // then JSON, then idempotent.
  app.use(
    '/v1',
    ...readRawBody(bodyLimit),
    platformAuth({ keys: platformKeys, models }),
    rateLimit({
      models,
      scope: 'platform',
      limitPerMinute: config.PLATFORM_RATE_LIMIT_PER_MINUTE,
      callerOf: (_req, locals) => String(locals.platformKeyId),
    }),
    requireJson,
    parseJson,
    idempotency({
      models,
      fieldCipher,
      logger,
      lockMs: IDEMPOTENCY_LOCK_MS,
      // A create may go on 30 s after the response timeout answered it (see the payment service).
      maxHoldMs: config.API_RESPONSE_TIMEOUT_MS + 60_000,
    }),
  );
  app.use('/v1/payments', paymentRoutes({ payments, maxAmount: config.PAYMENT_MAX_AMOUNT }));
  // Staff (support, finance, admins) authenticate with a bearer token of their own.
  app.use(
    '/staff/v1',
    ...jsonBody(bodyLimit),
    staffAuth({ models, publicBaseUrl: config.PUBLIC_BASE_URL }),
    staffRoutes({ models }),
    staffPaymentRoutes({ payments, maxAmount: config.PAYMENT_MAX_AMOUNT }),
    staffChannelRoutes({
      models,
      health: channelHealthFor(config, models, logger),
      enabled: enabledChannels(config),
    }),
    staffStatsRoutes({
      stats: createStatsRollups(models, config.STATS_UTC_OFFSET_MINUTES),
      client: temporal.client,
    }),
    staffReconciliationRoutes({
      reconciliations: createReconciliationService({
        client: temporal.client,
        models,
        payments,
        config,
        channels: channelsWithBills(config),
      }),
    }),
    notFound,
  );
  // Staff in a browser: the dashboard's pages, its sign-in and its assets (its data comes from /staff/v1).
  app.use(
    '/dashboard',
    dashboardRoutes({
      models,
      assets: loadDashboardAssets(),
      sessionMinutes: config.DASHBOARD_SESSION_MINUTES,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      statsUtcOffsetMinutes: config.STATS_UTC_OFFSET_MINUTES,
    }),
  );
  // Learners' receipts are public documents (at the voucher's unguessable id), limited per client address.
  app.use(
    '/receipts',
    rateLimit({
      models,
      scope: 'public',
      limitPerMinute: config.PUBLIC_RATE_LIMIT_PER_MINUTE,
      callerOf: (req) => req.ip ?? req.socket.remoteAddress ?? 'unknown',
    }),
    receiptRoutes({
      models,
      assets: loadReceiptAssets(),
      merchant: config.PLATFORM_NAME,
      publicBaseUrl: config.PUBLIC_BASE_URL,
    }),
    notFound,
  );
  // Learners in a browser: the hosted checkout of a payment, behind its signed link.
  app.use(
    '/checkout',
    checkoutRoutes({
      payments,
      models,
      linkKey: checkoutLinkKey(keyring.paymentIdKey),
      assets: loadCheckoutAssets(),
      bodyLimitBytes: bodyLimit,
      logger,
    }),
  );
  // The sandbox runs as its own process; its public URLs (cashier pages, control API) stay here.
  if (config.SANDBOX_ENABLED) {
    // A second less than the response timeout, so a silent sandbox is named as such.
    const forwardTimeoutMs = Math.max(500, config.API_RESPONSE_TIMEOUT_MS - 1_000);
    app.use('/sandbox', forwardToSandbox(config.SANDBOX_URL, forwardTimeoutMs, logger));
  }
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
