import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import type { PaymentChannel } from '../../workflows/contracts.js';
import { createAlipayAdapter } from './alipay.js';
import type { ChannelAdapter } from './types.js';
import { createWechatPayAdapter } from './wechatpay.js';

export type ChannelAdapterConfig = Pick<
  Config,
  'ALIPAY_GATEWAY_URL' | 'WECHATPAY_BASE_URL' | 'CHANNEL_TIMEOUT_MS' | 'ALIPAY_MAX_AMOUNT' | 'WECHATPAY_MAX_AMOUNT'
>;

/**
 * One adapter per channel, built once per process from the configuration and the keyring.
 * Throws when a channel's base URL is missing (with the sandbox on, `loadConfig` fills both in).
 */
export function createChannelAdapters(
  config: ChannelAdapterConfig,
  keyring: Keyring,
): Record<PaymentChannel, ChannelAdapter> {
  const required = (value: string | undefined, variable: string): string => {
    if (value === undefined || value === '') {
      throw new Error(`${variable} is not set: the channel adapters need every channel's base URL`);
    }
    return value;
  };
  return {
    alipay: createAlipayAdapter({
      gatewayUrl: required(config.ALIPAY_GATEWAY_URL, 'ALIPAY_GATEWAY_URL'),
      keyring: keyring.alipay,
      timeoutMs: config.CHANNEL_TIMEOUT_MS,
      maxAmount: config.ALIPAY_MAX_AMOUNT,
    }),
    wechatpay: createWechatPayAdapter({
      baseUrl: required(config.WECHATPAY_BASE_URL, 'WECHATPAY_BASE_URL'),
      keyring: keyring.wechatpay,
      timeoutMs: config.CHANNEL_TIMEOUT_MS,
      maxAmount: config.WECHATPAY_MAX_AMOUNT,
    }),
  };
}
