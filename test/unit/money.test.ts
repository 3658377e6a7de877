import { describe, expect, it } from 'vitest';
import { formatMajor, isCurrency, parseMajor } from '../../domain/money.js';

describe('money in minor units', () => {
  it.each([
    [9900, 'CNY', '99.00'],
    [1, 'CNY', '0.01'],
    [0, 'CNY', '0.00'],
    [123456, 'USD', '1234.56'],
    [500, 'JPY', '500'],
  ] as const)('formats %i %s as %s', (minor, currency, text) => {
    expect(formatMajor(minor, currency)).toBe(text);
    expect(parseMajor(text, currency)).toBe(minor);
  });

  it.each(['1.001', '-1.00', '1e3', '', '.5', '1.', ' 1.00', '0x10'])('refuses %j as a CNY amount', (text) => {
    expect(parseMajor(text, 'CNY')).toBeUndefined();
  });

  it('refuses decimals for a currency without minor units', () => {
    expect(parseMajor('1.5', 'JPY')).toBeUndefined();
  });

  it('refuses amounts that are not safe non-negative integers', () => {
    expect(() => formatMajor(1.5, 'CNY')).toThrow(RangeError);
    expect(() => formatMajor(-1, 'CNY')).toThrow(RangeError);
    expect(() => formatMajor(Number.MAX_SAFE_INTEGER + 1, 'CNY')).toThrow(RangeError);
  });

  it('knows which currencies it supports', () => {
    expect(isCurrency('CNY')).toBe(true);
    expect(isCurrency('cny')).toBe(false);
    expect(isCurrency('toString')).toBe(false);
  });
});
