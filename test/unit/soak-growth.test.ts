import { describe, expect, it } from 'vitest';
import { memoryGrowth } from '../../src/dev/bench/soak.js';

const MiB = 2 ** 20;
const series = (values: number[]) => values.map((v, i) => ({ at: i * 5_000, bytes: v * MiB }));

describe('soak memory growth', () => {
  it('compares the first tenth of the run with the last, and keeps the mean of every tenth', () => {
    // Warm-up over the first fifth, then flat: the tenths show it levelling off.
    const values = [...Array.from({ length: 20 }, (_, i) => 100 + i * 10), ...Array.from({ length: 80 }, () => 300)];
    const growth = memoryGrowth(series(values))!;
    expect(growth.samples).toBe(100);
    expect(growth.firstTenthBytes / MiB).toBeCloseTo(145);
    expect(growth.lastTenthBytes / MiB).toBeCloseTo(300);
    expect(growth.growthPercent).toBeCloseTo((155 / 145) * 100);
    expect(growth.tenthsBytes.map((b) => b / MiB)).toEqual([145, 245, 300, 300, 300, 300, 300, 300, 300, 300]);
  });

  it('shows a leak climbing through every tenth', () => {
    const growth = memoryGrowth(series(Array.from({ length: 50 }, (_, i) => 100 + i)))!;
    const tenths = growth.tenthsBytes;
    expect(tenths).toHaveLength(10);
    for (let i = 1; i < tenths.length; i += 1) expect(tenths[i]!).toBeGreaterThan(tenths[i - 1]!);
  });

  it('has no figure from fewer than two samples', () => {
    expect(memoryGrowth(series([100]))).toBeNull();
  });
});
