import { describe, expect, it } from 'vitest';
import { rankChannels } from '../../src/channels/routing.js';
import type { Currency } from '../../domain/money.js';

const adapters = {
  alipay: { supports: (currency: Currency, amount: number) => currency === 'CNY' && amount <= 1_000 },
  wechatpay: { supports: (currency: Currency, amount: number) => currency === 'CNY' && amount <= 500 },
  unionpay: { supports: (currency: Currency, amount: number) => currency === 'CNY' && amount <= 2_000 },
  card: { supports: (currency: Currency, amount: number) => currency !== 'CNY' && amount <= 5_000 },
};

describe('channel routing', () => {
  it('puts the preferred channel first when it can take the payment', () => {
    expect(
      rankChannels(adapters, ['alipay', 'wechatpay'], { currency: 'CNY', amount: 100, preferred: 'wechatpay' }),
    ).toEqual(['wechatpay', 'alipay']);
  });

  it('skips a preferred channel whose limit the amount exceeds', () => {
    expect(
      rankChannels(adapters, ['alipay', 'wechatpay'], { currency: 'CNY', amount: 800, preferred: 'wechatpay' }),
    ).toEqual(['alipay']);
  });

  it('keeps the configured order without a preference, and leaves out disabled channels', () => {
    expect(rankChannels(adapters, ['wechatpay', 'alipay'], { currency: 'CNY', amount: 100 })).toEqual([
      'wechatpay',
      'alipay',
    ]);
    expect(rankChannels(adapters, ['alipay'], { currency: 'CNY', amount: 100, preferred: 'wechatpay' })).toEqual([
      'alipay',
    ]);
  });

  it('routes 1500 to UnionPay when Alipay takes at most 1000 and WeChat Pay is not available', () => {
    expect(rankChannels(adapters, ['alipay', 'unionpay'], { currency: 'CNY', amount: 1_500 })).toEqual(['unionpay']);
    expect(
      rankChannels(adapters, ['alipay', 'wechatpay', 'unionpay'], {
        currency: 'CNY',
        amount: 1_500,
        preferred: 'alipay',
      }),
    ).toEqual(['unionpay']);
  });

  it('finds no channel for a currency none supports', () => {
    expect(rankChannels(adapters, ['alipay', 'wechatpay'], { currency: 'USD', amount: 100 })).toEqual([]);
  });

  it('sends a payment in dollars to the card channel, whatever the preference', () => {
    expect(
      rankChannels(adapters, ['alipay', 'wechatpay', 'unionpay', 'card'], {
        currency: 'USD',
        amount: 100,
        preferred: 'alipay',
      }),
    ).toEqual(['card']);
  });
});
