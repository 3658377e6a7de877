import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log line. Request bodies and headers are not
 * logged at all; these catch anything that slips through in an error's context.
 */
const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers["x-signature"]',
  'customerId',
  '*.customerId',
  'password',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
];

/**
 * The ids every log line carries while a request or an activity runs: the API request's id (the
 * one its caller sees in `X-Request-Id`, and, in an activity, the one that started the payment)
 * and the payment's. Opaque ids only: nothing personal goes here.
 */
export interface LogContext {
  requestId?: string;
  paymentId?: string;
}

const logContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `context` added to every log line written while it (and what it awaits) runs. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return logContext.run(context, fn);
}

/** Adds ids learnt along the way (a request's payment, once known) to the current log context. */
export function addToLogContext(fields: LogContext): void {
  const current = logContext.getStore();
  if (current) Object.assign(current, fields);
}

/** The log context of the running request or activity, if any. */
export function currentLogContext(): Readonly<LogContext> | undefined {
  return logContext.getStore();
}

/**
 * One structured JSON logger per process; `component` names the process in every line, and the
 * current {@link LogContext} adds its ids. Lines go to stdout unless a `destination` is given (tests read the lines back to check what was logged).
 */
export function createLogger(
  config: Pick<Config, 'LOG_LEVEL'>,
  component: string,
  destination?: { write(line: string): void },
): Logger {
  const options = {
    level: config.LOG_LEVEL,
    base: { component },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // A copy: pino merges the line's own fields into what the mixin returns.
    mixin: () => ({ ...logContext.getStore() }),
  };
  return destination ? pino(options, destination) : pino(options);
}
