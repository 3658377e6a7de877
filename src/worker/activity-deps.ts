import type { Tracer } from '@opentelemetry/api';
import type { ActivityDeps } from '../../activities/index.js';
import { createChannelHealth, instrumentAdapter, type ChannelHealth } from '../channels/health.js';
import { CHANNELS_WITH_BILLS, createChannelAdapters } from '../channels/index.js';
import { parseChannelWeights } from '../channels/routing.js';
import type { ChannelAdapter } from '../channels/types.js';
import { createLogger, type Logger } from '../logger.js';
import { riskRulesOf, type Config } from '../config.js';
import { createStatsRollups } from '../stats/rollups.js';
import { traceAdapter } from '../telemetry/channel-spans.js';
import { createWorkerMetrics } from './metrics.js';
import { FieldCipher } from '../crypto/field-cipher.js';
import type { WorkerKeyring } from '../crypto/keyring.js';
import type { Models } from '../db/connect.js';
import { MessageSealer } from '../temporal/message-seal.js';
import type { PaymentChannel } from '../../domain/payment.js';

/** Enabled channels in preference order, from `CHANNELS_ENABLED`. */
export function enabledChannels(config: Pick<Config, 'CHANNELS_ENABLED'>): PaymentChannel[] {
  return [...new Set(config.CHANNELS_ENABLED.split(',') as PaymentChannel[])];
}

/** The enabled channels reconciled against a daily bill. */
export function channelsWithBills(config: Pick<Config, 'CHANNELS_ENABLED'>): PaymentChannel[] {
  return enabledChannels(config).filter((c) => CHANNELS_WITH_BILLS.includes(c));
}

/** The process's channel health, from the configuration (see src/channels/health.ts). */
export function channelHealthFor(config: Config, models: Models, logger: Logger): ChannelHealth {
  return createChannelHealth({
    models,
    channels: enabledChannels(config),
    logger,
    options: {
      windowMinutes: config.CHANNEL_HEALTH_WINDOW_MINUTES,
      breakerMinCalls: config.CHANNEL_BREAKER_MIN_CALLS,
      breakerFailureRate: config.CHANNEL_BREAKER_FAILURE_RATE,
      breakerCooldownMs: config.CHANNEL_BREAKER_COOLDOWN_SECONDS * 1000,
    },
  });
}

/** Everything the activities need, built once per worker process. */
export function buildActivityDeps(
  config: Config,
  models: Models,
  keyring: WorkerKeyring,
  logger: Logger = createLogger(config, 'worker'),
  tracer?: Tracer,
): ActivityDeps {
  if (!config.PLATFORM_WEBHOOK_URL) throw new Error('PLATFORM_WEBHOOK_URL is not set');
  const health = channelHealthFor(config, models, logger);
  const metrics = createWorkerMetrics();
  // Each channel call counts in the shared health window and in this process's metrics, and with
  // tracing on has a span of its own.
  const calls: Pick<ChannelHealth, 'record'> = {
    record(channel, operation, ok, ms) {
      logger.debug({ channel, operation, ok, ms: Math.round(ms) }, 'channel call');
      metrics.channelCall(channel, operation, ok, ms);
      return health.record(channel, operation, ok, ms);
    },
  };
  const adapters = createChannelAdapters(config, keyring);
  const channels = Object.fromEntries(
    Object.entries(adapters).map(([channel, adapter]) => [
      channel,
      instrumentAdapter(tracer ? traceAdapter(adapter, tracer) : adapter, calls),
    ]),
  ) as Record<PaymentChannel, ChannelAdapter>;
  return {
    models,
    channels,
    health,
    routing: {
      weights: parseChannelWeights(config.CHANNEL_WEIGHTS, enabledChannels(config)),
      exploration: config.CHANNEL_EXPLORATION,
    },
    logger,
    enabledChannels: enabledChannels(config),
    publicBaseUrl: config.PUBLIC_BASE_URL,
    voucherKeys: keyring.vouchers,
    webhookUrl: config.PLATFORM_WEBHOOK_URL,
    webhookSecret: keyring.platformWebhookSecret,
    timeoutMs: config.PLATFORM_WEBHOOK_TIMEOUT_MS,
    fieldCipher: new FieldCipher(keyring.atRest),
    sealer: new MessageSealer(keyring.workflowMessageKey),
    riskRules: riskRulesOf(config),
    stats: createStatsRollups(models, config.STATS_UTC_OFFSET_MINUTES),
    metrics,
  };
}
