import type { Config } from '../config.js';
import type { ApiKeyring } from '../crypto/keyring.js';
import type { PaymentChannel } from '../../domain/payment.js';
import { createAlipayAdapter } from './alipay/adapter.js';
import type { ChannelAdapter } from './types.js';
import { createWechatPayAdapter } from './wechatpay/adapter.js';

export type ChannelAdapterConfig = Pick<
  Config,
  | 'ALIPAY_GATEWAY_URL'
  | 'WECHATPAY_BASE_URL'
  | 'CHANNEL_TIMEOUT_MS'
  | 'ALIPAY_MAX_AMOUNT'
  | 'WECHATPAY_MAX_AMOUNT'
  | 'CHANNELS_ENABLED'
  | 'ALIPAY_NOTIFY_MAX_AGE_SECONDS'
>;

/** Stands in for the base URL of a disabled channel: routing never sends it a request. */
const DISABLED_CHANNEL_URL = 'http://channel-disabled.invalid';

/**
 * One adapter per channel, built once per process from the configuration and the keyring.
 * Throws when an enabled channel's base URL is missing (with the sandbox on, `loadConfig` fills
 * both in). A disabled channel keeps an adapter, so its late notifications still verify.
 */
export function createChannelAdapters(
  config: ChannelAdapterConfig,
  keyring: Pick<ApiKeyring, 'alipay' | 'wechatpay'>,
): Record<PaymentChannel, ChannelAdapter> {
  const enabled = new Set(config.CHANNELS_ENABLED.split(','));
  const required = (channel: PaymentChannel, value: string | undefined, variable: string): string => {
    if (value !== undefined && value !== '') return value;
    if (!enabled.has(channel)) return DISABLED_CHANNEL_URL;
    throw new Error(`${variable} is not set: ${channel} is enabled (CHANNELS_ENABLED) and needs its base URL`);
  };
  return {
    alipay: createAlipayAdapter({
      gatewayUrl: required('alipay', config.ALIPAY_GATEWAY_URL, 'ALIPAY_GATEWAY_URL'),
      keyring: keyring.alipay,
      timeoutMs: config.CHANNEL_TIMEOUT_MS,
      maxAmount: config.ALIPAY_MAX_AMOUNT,
      notifyMaxAgeSeconds: config.ALIPAY_NOTIFY_MAX_AGE_SECONDS,
    }),
    wechatpay: createWechatPayAdapter({
      baseUrl: required('wechatpay', config.WECHATPAY_BASE_URL, 'WECHATPAY_BASE_URL'),
      keyring: keyring.wechatpay,
      timeoutMs: config.CHANNEL_TIMEOUT_MS,
      maxAmount: config.WECHATPAY_MAX_AMOUNT,
    }),
  };
}
