import { describe, expect, it } from 'vitest';
import { parseChannelWeights, rankChannels, type RouteHealth } from '../../src/channels/routing.js';
import type { PaymentChannel } from '../../domain/payment.js';
import type { Currency } from '../../domain/money.js';

const adapters = {
  alipay: { supports: (currency: Currency, amount: number) => currency === 'CNY' && amount <= 1_000 },
  wechatpay: { supports: (currency: Currency, amount: number) => currency === 'CNY' && amount <= 500 },
  unionpay: { supports: (currency: Currency, amount: number) => currency === 'CNY' && amount <= 2_000 },
  card: { supports: (currency: Currency, amount: number) => currency !== 'CNY' && amount <= 5_000 },
  paypal: { supports: (currency: Currency, amount: number) => currency === 'USD' && amount <= 3_000 },
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

  it('puts channels that take a currency as it is before one that converts it, unless the platform prefers that one', () => {
    const crossBorder = {
      ...adapters,
      alipay: { supports: () => true, convertsCurrency: (currency: Currency) => currency !== 'CNY' },
    };
    const enabled: PaymentChannel[] = ['alipay', 'wechatpay', 'card', 'paypal'];
    const healthy: RouteHealth = {
      open: new Set(),
      score: new Map([
        ['alipay', 1],
        ['card', 0.5],
        ['paypal', 0.5],
      ]),
    };
    expect(rankChannels(crossBorder, enabled, { currency: 'USD', amount: 100 }, { health: healthy })).toEqual([
      'card',
      'paypal',
      'alipay',
    ]);
    expect(rankChannels(crossBorder, enabled, { currency: 'USD', amount: 100, preferred: 'alipay' })).toEqual([
      'alipay',
      'card',
      'paypal',
    ]);
    expect(rankChannels(crossBorder, enabled, { currency: 'CNY', amount: 100 })).toEqual(['alipay', 'wechatpay']);
  });

  const all: PaymentChannel[] = ['alipay', 'wechatpay', 'unionpay'];
  const health = (open: PaymentChannel[], scores: Partial<Record<PaymentChannel, number>> = {}): RouteHealth => ({
    open: new Set(open),
    score: new Map(Object.entries(scores) as [PaymentChannel, number][]),
  });

  it('skips a channel whose breaker is open, preferred or not, without trying it', () => {
    const request = { currency: 'CNY', amount: 100, preferred: 'alipay' } as const;
    expect(rankChannels(adapters, all, request, { health: health(['alipay']) })).toEqual(['wechatpay', 'unionpay']);
  });

  it('routes 1500 to UnionPay when Alipay takes at most 1000 and WeChat Pay’s breaker is open', () => {
    expect(rankChannels(adapters, all, { currency: 'CNY', amount: 1_500 }, { health: health(['wechatpay']) })).toEqual([
      'unionpay',
    ]);
  });

  it('tries every able channel in configured order when all their breakers are open', () => {
    expect(
      rankChannels(
        adapters,
        all,
        { currency: 'CNY', amount: 100 },
        { health: health(['alipay', 'wechatpay', 'unionpay']) },
      ),
    ).toEqual(all);
  });

  it('ranks by health score after the preferred channel, ignoring differences of less than a step', () => {
    const request = { currency: 'CNY', amount: 100 } as const;
    expect(
      rankChannels(adapters, all, request, { health: health([], { alipay: 0.4, wechatpay: 0.97, unionpay: 0.99 }) }),
    ).toEqual(['wechatpay', 'unionpay', 'alipay']);
    expect(
      rankChannels(adapters, all, { ...request, preferred: 'alipay' }, { health: health([], { alipay: 0.4 }) }),
    ).toEqual(['alipay', 'wechatpay', 'unionpay']);
  });

  it('draws the order by weight for a volume split, and explores a ranked-down channel when asked', () => {
    const request = { currency: 'CNY', amount: 100 } as const;
    const weights = { alipay: 3, wechatpay: 1, unionpay: 0 };
    // The first draw lands in alipay's three quarters, the second in wechatpay's share of what is left.
    expect(rankChannels(adapters, all, request, { weights, random: () => 0.5 })).toEqual([
      'alipay',
      'wechatpay',
      'unionpay',
    ]);
    expect(rankChannels(adapters, all, request, { weights, random: () => 0.9 })[0]).toBe('wechatpay');
    const draws = [0.01, 0.99];
    expect(rankChannels(adapters, all, request, { exploration: 0.05, random: () => draws.shift() ?? 0 })).toEqual([
      'unionpay',
      'alipay',
      'wechatpay',
    ]);
  });

  it('reads CHANNEL_WEIGHTS, and refuses an unknown channel or a weight that is not a number', () => {
    expect(parseChannelWeights('alipay:3, wechatpay:1', all)).toEqual({ alipay: 3, wechatpay: 1 });
    expect(parseChannelWeights(undefined, all)).toBeUndefined();
    expect(() => parseChannelWeights('paypal:1', all)).toThrow(/CHANNEL_WEIGHTS/);
    expect(() => parseChannelWeights('alipay:x', all)).toThrow(/CHANNEL_WEIGHTS/);
  });
});
