import { describe, expect, it } from 'vitest';
import { isAddressRangeList, parseAddressRanges } from '../../src/api/address-ranges.js';
import { ConfigError, loadConfig } from '../../src/config.js';

/** `CALLBACK_ALLOWED_CIDRS`: the addresses channel callbacks may come from. */
describe('allowed address ranges', () => {
  it('hold the addresses of their ranges, in either IPv4 form, and nothing else', () => {
    const ranges = parseAddressRanges(' 110.75.0.0/16, 203.0.113.7 ,2001:db8::/32')!;
    for (const inside of ['110.75.1.2', '::ffff:110.75.200.9', '203.0.113.7', '2001:db8::1']) {
      expect(ranges.has(inside), inside).toBe(true);
    }
    for (const outside of ['110.76.0.1', '203.0.113.8', '127.0.0.1', '::1', '2001:db9::1', 'unknown', '', undefined]) {
      expect(ranges.has(outside), String(outside)).toBe(false);
    }
  });

  it('restrict nothing when the list is empty or unset', () => {
    expect(parseAddressRanges(undefined)).toBeUndefined();
    expect(parseAddressRanges(' , ')).toBeUndefined();
  });

  it('stop the process at boot when an entry is not an address or a range, naming the variable', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'loopback', '2001:db8::/129', '10.0.0.0/8/1', '10.0.0.0/x']) {
      expect(isAddressRangeList(bad), bad).toBe(false);
      expect(() => loadConfig({ NODE_ENV: 'test', CALLBACK_ALLOWED_CIDRS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ NODE_ENV: 'test', CALLBACK_ALLOWED_CIDRS: bad })).toThrow(/CALLBACK_ALLOWED_CIDRS/);
    }
    expect(loadConfig({ NODE_ENV: 'test', CALLBACK_ALLOWED_CIDRS: '10.0.0.0/8,::1' }).CALLBACK_ALLOWED_CIDRS).toBe(
      '10.0.0.0/8,::1',
    );
  });
});
