import type { Config } from '../config.js';
import type { ApiKeyring } from '../crypto/keyring.js';
import type { PaymentChannel } from '../../domain/payment.js';
import { createAlipayAdapter } from './alipay/adapter.js';
import { ChannelRejectedError, type ChannelAdapter } from './types.js';
import { createCardAdapter } from './card/adapter.js';
import { createPaypalAdapter } from './paypal/adapter.js';
import { createUnionpayAdapter } from './unionpay/adapter.js';
import { createWechatPayAdapter } from './wechatpay/adapter.js';

export type ChannelAdapterConfig = Pick<
  Config,
  | 'ALIPAY_GATEWAY_URL'
  | 'WECHATPAY_BASE_URL'
  | 'UNIONPAY_GATEWAY_URL'
  | 'UNIONPAY_MAX_AMOUNT'
  | 'CARD_API_URL'
  | 'CARD_PAY_PAGE_URL'
  | 'CARD_MAX_AMOUNT'
  | 'PAYPAL_API_URL'
  | 'PAYPAL_CERT_URL_PREFIX'
  | 'PAYPAL_MAX_AMOUNT'
  | 'CHANNEL_TIMEOUT_MS'
  | 'ALIPAY_MAX_AMOUNT'
  | 'WECHATPAY_MAX_AMOUNT'
  | 'CHANNELS_ENABLED'
  | 'ALIPAY_NOTIFY_MAX_AGE_SECONDS'
  | 'ALIPAY_CROSS_BORDER_CURRENCIES'
>;

/** Stands in for the base URL of a disabled channel: routing never sends it a request. */
const DISABLED_CHANNEL_URL = 'http://channel-disabled.invalid';

/**
 * A channel the keyring holds no keys for: refused at boot when enabled; otherwise routing never
 * picks it and its callbacks are refused.
 */
function unconfiguredChannel(channel: PaymentChannel, enabled: ReadonlySet<string>): ChannelAdapter {
  if (enabled.has(channel)) {
    throw new Error(
      `${channel} is enabled (CHANNELS_ENABLED) but the keyring has no ${channel} section: add it, or leave ${channel} out of CHANNELS_ENABLED`,
    );
  }
  const refuse = (): Promise<never> =>
    Promise.reject(new ChannelRejectedError(`${channel} is not configured`, 'channel_not_configured'));
  return {
    channel,
    supports: () => false,
    createOrder: refuse,
    queryOrder: refuse,
    closeOrder: refuse,
    refund: refuse,
    queryRefund: refuse,
    verifyNotification: () => ({ ok: false, reason: 'channel_not_configured' }),
    ackSuccess: () => ({ status: 200, contentType: 'text/plain', body: 'ok' }),
    ackFailure: () => ({ status: 400, contentType: 'text/plain', body: 'fail' }),
  };
}

/**
 * One adapter per channel, built once per process from the configuration and the keyring.
 * Throws when an enabled channel's base URL is missing (with the sandbox on, `loadConfig` fills
 * both in). A disabled channel keeps an adapter, so its late notifications still verify.
 */
export function createChannelAdapters(
  config: ChannelAdapterConfig,
  keyring: Pick<ApiKeyring, 'alipay' | 'wechatpay' | 'unionpay' | 'card' | 'paypal'>,
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
      crossBorderCurrencies: config.ALIPAY_CROSS_BORDER_CURRENCIES,
    }),
    wechatpay: createWechatPayAdapter({
      baseUrl: required('wechatpay', config.WECHATPAY_BASE_URL, 'WECHATPAY_BASE_URL'),
      keyring: keyring.wechatpay,
      timeoutMs: config.CHANNEL_TIMEOUT_MS,
      maxAmount: config.WECHATPAY_MAX_AMOUNT,
    }),
    unionpay:
      keyring.unionpay === undefined
        ? unconfiguredChannel('unionpay', enabled)
        : createUnionpayAdapter({
            gatewayUrl: required('unionpay', config.UNIONPAY_GATEWAY_URL, 'UNIONPAY_GATEWAY_URL'),
            keyring: keyring.unionpay,
            timeoutMs: config.CHANNEL_TIMEOUT_MS,
            maxAmount: config.UNIONPAY_MAX_AMOUNT,
          }),
    card:
      keyring.card === undefined
        ? unconfiguredChannel('card', enabled)
        : createCardAdapter({
            apiUrl: required('card', config.CARD_API_URL, 'CARD_API_URL'),
            payPageUrl: required('card', config.CARD_PAY_PAGE_URL, 'CARD_PAY_PAGE_URL'),
            keyring: keyring.card,
            timeoutMs: config.CHANNEL_TIMEOUT_MS,
            maxAmount: config.CARD_MAX_AMOUNT,
          }),
    paypal:
      keyring.paypal === undefined
        ? unconfiguredChannel('paypal', enabled)
        : createPaypalAdapter({
            apiUrl: required('paypal', config.PAYPAL_API_URL, 'PAYPAL_API_URL'),
            certUrlPrefix: config.PAYPAL_CERT_URL_PREFIX,
            keyring: keyring.paypal,
            timeoutMs: config.CHANNEL_TIMEOUT_MS,
            maxAmount: config.PAYPAL_MAX_AMOUNT,
          }),
  };
}

/** The channels whose adapters download and read the channel's daily bill (reconciliation). */
export const CHANNELS_WITH_BILLS: readonly PaymentChannel[] = ['alipay', 'wechatpay', 'unionpay', 'paypal', 'card'];
