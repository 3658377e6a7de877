import { Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Logger } from '../logger.js';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the Temporal SDK's own log lines (worker state, task failures) through the process's
 * pino logger, so a worker writes one log format. Call once, before creating any worker.
 */
export function installTemporalRuntime(logger: Logger, options: { sdkMetricsAddress?: string } = {}): void {
  Runtime.install({
    // The SDK's own runtime metrics (task slots, poll latencies, sticky cache), served by the SDK
    // on a loopback port the worker's /metrics reads from (src/worker/metrics.ts).
    ...(options.sdkMetricsAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress } } } }
      : {}),
    logger: {
      log: (level: LogLevel, message: string, meta?: LogMetadata) =>
        logger[LEVELS[level]]({ ...meta, sdk: true }, message),
      trace: (message, meta) => logger.trace({ ...meta, sdk: true }, message),
      debug: (message, meta) => logger.debug({ ...meta, sdk: true }, message),
      info: (message, meta) => logger.info({ ...meta, sdk: true }, message),
      warn: (message, meta) => logger.warn({ ...meta, sdk: true }, message),
      error: (message, meta) => logger.error({ ...meta, sdk: true }, message),
    },
  });
}
