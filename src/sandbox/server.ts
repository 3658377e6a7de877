import { PAYMENT_CHANNELS } from '../../domain/payment.js';
import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Config } from '../config.js';
import type { SandboxKeyring } from '../crypto/keyring.js';
import { openConnection, type Connected } from '../db/connect.js';
import { ApiError, errorHandler, notFound } from '../api/errors.js';
import type { Logger } from '../logger.js';
import { sandboxControlRoutes } from './control.js';
import { sandboxFxRoutes } from './fx.js';
import { createSandbox, type Sandbox } from './index.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

export interface AssembledSandbox {
  app: Express;
  sandbox: Sandbox;
  database: Connected;
  /** Stops pending notifications and closes the database connection. */
  close: () => Promise<void>;
}

/**
 * The sandbox's HTTP face: the simulated channels (`/sandbox/<channel>`), the
 * platform stub (`/sandbox/platform`), the control API (`/sandbox/v1`) and `GET /readyz`.
 */
export function createSandboxApp(options: {
  sandbox: Sandbox;
  database: Pick<Connected, 'ping'>;
  logger: Logger;
  bodyLimitBytes: number;
  timeoutMs: number;
}): Express {
  const { sandbox, database, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  // The request id the API gave the request it forwarded (or a new one): errors carry it.
  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID()}`;
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    next();
  });
  // No channel identifier holds a control character, and PostgreSQL cannot even look one up.
  app.use((req, _res, next) => {
    let path: string;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      next(
        new ApiError(400, 'invalid_request_error', 'malformed_path', 'The request path is not valid percent-encoding.'),
      );
      return;
    }
    // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
    if (/[\u0000-\u001f\u007f]/.test(path)) {
      next(new ApiError(400, 'invalid_request_error', 'malformed_path', 'The request path holds control characters.'));
      return;
    }
    next();
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await database.ping(options.timeoutMs);
      res.json({ status: 'ready' });
    } catch (err) {
      res.status(503).json({ status: 'not_ready', database: (err as Error).message });
    }
  });
  for (const channel of PAYMENT_CHANNELS) app.use(`/sandbox/${channel}`, sandbox.simulators[channel].router);
  app.use('/sandbox/platform', sandbox.platform.router);
  // Before the control API: reading a rate takes no token, setting one does.
  app.use(
    '/sandbox/v1',
    sandboxFxRoutes({ controlToken: sandbox.controlToken, bodyLimitBytes: options.bodyLimitBytes }),
  );
  app.use(
    '/sandbox/v1',
    sandboxControlRoutes({
      simulators: sandbox.simulators,
      platform: sandbox.platform,
      controlToken: sandbox.controlToken,
      bodyLimitBytes: options.bodyLimitBytes,
    }),
  );
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

/**
 * Connects the sandbox's own database (`SANDBOX_MONGODB_URI`, never the payment system's) and
 * builds the simulators, the platform stub and their app. The sandbox process and the tests
 * start it this way.
 */
export async function assembleSandbox(options: {
  config: Config;
  logger: Logger;
  keyring: SandboxKeyring;
}): Promise<AssembledSandbox> {
  const { config, logger, keyring } = options;
  const database = await openConnection(config.SANDBOX_MONGODB_URI, {
    timeoutMs: config.DEPENDENCY_TIMEOUT_MS,
  }).catch((err: unknown) => {
    throw new Error(
      `cannot reach the sandbox's MongoDB (SANDBOX_MONGODB_URI): ${(err as Error).message}. Is it running? \`npm start\` provisions one.`,
    );
  });
  const sandbox = await createSandbox({ connection: database.connection, keyring, config, logger });
  const app = createSandboxApp({
    sandbox,
    database,
    logger,
    bodyLimitBytes: config.API_BODY_LIMIT_BYTES,
    timeoutMs: config.DEPENDENCY_TIMEOUT_MS,
  });
  return {
    app,
    sandbox,
    database,
    close: async () => {
      sandbox.close();
      await database.close();
    },
  };
}
