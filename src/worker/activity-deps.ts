import type { ActivityDeps } from '../../activities/index.js';
import { createChannelAdapters } from '../channels/index.js';
import type { Config } from '../config.js';
import { FieldCipher } from '../crypto/field-cipher.js';
import type { WorkerKeyring } from '../crypto/keyring.js';
import type { Models } from '../db/connect.js';
import { MessageSealer } from '../temporal/message-seal.js';
import type { PaymentChannel } from '../../domain/payment.js';

/** Enabled channels in preference order, from `CHANNELS_ENABLED`. */
export function enabledChannels(config: Pick<Config, 'CHANNELS_ENABLED'>): PaymentChannel[] {
  return [...new Set(config.CHANNELS_ENABLED.split(',') as PaymentChannel[])];
}

/** Everything the activities need, built once per worker process. */
export function buildActivityDeps(config: Config, models: Models, keyring: WorkerKeyring): ActivityDeps {
  if (!config.PLATFORM_WEBHOOK_URL) throw new Error('PLATFORM_WEBHOOK_URL is not set');
  return {
    models,
    channels: createChannelAdapters(config, keyring),
    enabledChannels: enabledChannels(config),
    publicBaseUrl: config.PUBLIC_BASE_URL,
    voucherKeys: keyring.vouchers,
    webhookUrl: config.PLATFORM_WEBHOOK_URL,
    webhookSecret: keyring.platformWebhookSecret,
    timeoutMs: config.PLATFORM_WEBHOOK_TIMEOUT_MS,
    fieldCipher: new FieldCipher(keyring.atRest),
    sealer: new MessageSealer(keyring.workflowMessageKey),
  };
}
