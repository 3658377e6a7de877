import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HEALTH_OPTIONS,
  emptyCounts,
  healthStateOf,
  latencySlot,
  nextBreaker,
  routingScore,
  statsOf,
  type Breaker,
} from '../../src/channels/health.js';

function counts(ok: number, failed: number, ms = 120) {
  const c = emptyCounts();
  c.ok = ok;
  c.failed = failed;
  c.latency[latencySlot(ms)] = ok + failed;
  return c;
}

const now = new Date('2026-12-02T10:00:00Z');
const options = DEFAULT_HEALTH_OPTIONS;

describe('channel health', () => {
  it('takes a channel nobody called as healthy, and reads rates and the p95 slot from counts', () => {
    expect(statsOf(emptyCounts())).toEqual({ calls: 0, successRate: 1, errorRate: 0, p95Ms: null });
    const mixed = emptyCounts();
    mixed.ok = 95;
    mixed.failed = 5;
    mixed.latency[latencySlot(40)] = 90;
    mixed.latency[latencySlot(900)] = 10;
    expect(statsOf(mixed)).toEqual({ calls: 100, successRate: 0.95, errorRate: 0.05, p95Ms: 1_000 });
  });

  it('opens a breaker once enough calls failed, lets a call test it after the cooldown, and leaves a hand-set one alone', () => {
    expect(nextBreaker(undefined, statsOf(counts(2, 2)), now, options)).toBeUndefined();
    const opened = nextBreaker(undefined, statsOf(counts(2, 4)), now, options);
    expect(opened).toMatchObject({ state: 'open', manual: false, reason: '67% of 6 calls failed' });
    const soon = new Date(now.getTime() + options.breakerCooldownMs - 1);
    expect(nextBreaker(opened, statsOf(counts(0, 0)), soon, options)).toBe(opened);
    const later = new Date(now.getTime() + options.breakerCooldownMs);
    expect(nextBreaker(opened, statsOf(counts(0, 0)), later, options)).toMatchObject({ state: 'half_open' });
    const manual: Breaker = { state: 'open', since: now, manual: true, reason: 'maintenance', by: 'li' };
    expect(nextBreaker(manual, statsOf(counts(0, 0)), later, options)).toBe(manual);
  });

  it('calls a channel open when its create breaker is, degraded when failing or slow, else healthy', () => {
    const open: Breaker = { state: 'open', since: now, manual: false, reason: 'x', by: null };
    expect(healthStateOf(statsOf(counts(100, 0)), open, options)).toBe('open');
    expect(healthStateOf(statsOf(counts(80, 20)), undefined, options)).toBe('degraded');
    expect(healthStateOf(statsOf(counts(100, 0, 4_000)), undefined, options)).toBe('degraded');
    expect(healthStateOf(statsOf(counts(100, 0)), undefined, options)).toBe('healthy');
  });

  it('scores a channel 1 until it has ten calls, then by success rate less a little for slowness', () => {
    expect(routingScore(statsOf(counts(0, 9)))).toBe(1);
    expect(routingScore(statsOf(counts(5, 5, 40)))).toBeCloseTo(0.5 - 50 / 20_000);
    expect(routingScore(statsOf(counts(10, 0, 9_000)))).toBeCloseTo(1 - 0.5);
  });
});
