import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Models } from '../db/connect.js';
import type { Logger } from '../logger.js';
import { ApiError, errorHandler, notFound } from './errors.js';
import { healthRoutes, type Dependency } from './routes/health.js';
import { paymentRoutes } from './routes/payments.js';

export interface AppDeps {
  config: Pick<Config, 'API_BODY_LIMIT_BYTES' | 'TEMPORAL_TASK_QUEUE' | 'DEPENDENCY_TIMEOUT_MS' | 'PAYMENT_MAX_AMOUNT'>;
  logger: Logger;
  temporal: { client: Client } & Dependency;
  database: { models: Models } & Dependency;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** Tags every request with an id (the caller's `X-Request-Id` if sane) and logs one line per answer. */
function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID()}`;
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        { requestId, method: req.method, path: req.baseUrl + req.path, status: res.statusCode, ms: Math.round(ms) },
        'request',
      );
    });
    next();
  };
}

/** POST bodies must be JSON: answer 415 before anything else looks at them. */
const requireJson: RequestHandler = (req, _res, next) => {
  if (req.method === 'POST' && !req.is('application/json')) {
    next(new ApiError(415, 'invalid_request_error', 'unsupported_media_type', 'Send the body as application/json.'));
    return;
  }
  next();
};

export function createApp({ config, logger, temporal, database }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(logger));
  app.use(healthRoutes([temporal, database], config.DEPENDENCY_TIMEOUT_MS));
  app.use('/v1', requireJson, express.json({ limit: config.API_BODY_LIMIT_BYTES, strict: true }));
  app.use(
    '/v1/payments',
    paymentRoutes({
      client: temporal.client,
      models: database.models,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      maxAmount: config.PAYMENT_MAX_AMOUNT,
    }),
  );
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
