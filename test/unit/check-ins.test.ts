import { describe, expect, it } from 'vitest';
import { CHECK_IN_END_MARGIN_MS, checkInOffsets } from '../../workflows/payment/check-ins.js';

const MINUTE = 60_000;

describe('when the saga asks the channel during the payment window', () => {
  it('asks at 1, 3 and 7 minutes in the default 15-minute window', () => {
    expect(checkInOffsets(15 * MINUTE)).toEqual([1, 3, 7].map((m) => m * MINUTE));
  });

  it('does not ask in the shortest window: its end asks anyway', () => {
    expect(checkInOffsets(MINUTE)).toEqual([]);
  });

  it('doubles the wait up to an hour, then asks hourly, for a day-long window', () => {
    const offsets = checkInOffsets(24 * 60 * MINUTE);
    expect(offsets.slice(0, 7).map((o) => o / MINUTE)).toEqual([1, 3, 7, 15, 31, 63, 123]);
    expect(offsets).toHaveLength(28);
    const gaps = offsets.slice(1).map((o, i) => o - offsets[i]!);
    expect(Math.max(...gaps)).toBe(60 * MINUTE);
  });

  it('never asks in the last 30 seconds of any window', () => {
    for (let windowMs = MINUTE; windowMs <= 24 * 60 * MINUTE; windowMs += 7 * MINUTE + 13_000) {
      const offsets = checkInOffsets(windowMs);
      for (const at of offsets) expect(at).toBeLessThanOrEqual(windowMs - CHECK_IN_END_MARGIN_MS);
      expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    }
  });
});
