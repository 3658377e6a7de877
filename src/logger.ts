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
 * One structured JSON logger per process; `component` names the process in every line. Lines go
 * to stdout unless a `destination` is given (tests read the lines back to check what was logged).
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
  };
  return destination ? pino(options, destination) : pino(options);
}
