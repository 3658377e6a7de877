import type { Models } from '../db/connect.js';
import { LATENCY_BOUNDS_MS } from '../db/models/channel-health.js';
import type { Logger } from '../logger.js';
import type { PaymentChannel } from '../../domain/payment.js';
import { ChannelRejectedError, ChannelUnavailableError, type ChannelAdapter, type ChannelOperation } from './types.js';

/**
 * What every worker knows of the channels' health, from the calls all of them made: success and
 * error rates and p95 latency over a sliding window (per minute buckets in MongoDB, so every
 * process sees the same), and a circuit breaker per channel and operation. Routing reads it to
 * skip a channel whose breaker is open and to rank the others; staff read it at
 * `GET /staff/v1/channels` and may open or close a breaker by hand.
 */

export const CHANNEL_OPERATIONS: readonly ChannelOperation[] = ['create', 'query', 'close', 'refund'];

export interface HealthOptions {
  /** The sliding window, in minutes (`CHANNEL_HEALTH_WINDOW_MINUTES`). */
  windowMinutes: number;
  /** Calls in the window before the breaker may open (`CHANNEL_BREAKER_MIN_CALLS`). */
  breakerMinCalls: number;
  /** Share of failed calls that opens the breaker, 0-1 (`CHANNEL_BREAKER_FAILURE_RATE`). */
  breakerFailureRate: number;
  /** How long an open breaker waits before letting a call through to test the channel (`CHANNEL_BREAKER_COOLDOWN_SECONDS`). */
  breakerCooldownMs: number;
  /** Success rate below which a channel is degraded (0-1). */
  degradedBelow: number;
  /** p95 latency above which a channel is degraded, in milliseconds. */
  degradedP95Ms: number;
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  windowMinutes: 5,
  breakerMinCalls: 5,
  breakerFailureRate: 0.5,
  breakerCooldownMs: 30_000,
  degradedBelow: 0.9,
  degradedP95Ms: 3_000,
};

/** Calls counted in a window. */
export interface CallCounts {
  ok: number;
  failed: number;
  /** Calls per latency slot (see `LATENCY_BOUNDS_MS`; the last slot: slower than all). */
  latency: number[];
}

export interface WindowStats {
  calls: number;
  successRate: number;
  errorRate: number;
  /** Upper bound of the slot holding the 95th percentile call; null without calls. */
  p95Ms: number | null;
}

export function emptyCounts(): CallCounts {
  return { ok: 0, failed: 0, latency: Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, () => 0) };
}

/** The latency slot of a call of `ms` milliseconds. */
export function latencySlot(ms: number): number {
  const slot = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return slot === -1 ? LATENCY_BOUNDS_MS.length : slot;
}

export function addCounts(into: CallCounts, more: CallCounts): CallCounts {
  return {
    ok: into.ok + more.ok,
    failed: into.failed + more.failed,
    latency: into.latency.map((n, i) => n + (more.latency[i] ?? 0)),
  };
}

/** Rates and p95 of a window's counts. A channel nobody called is taken as healthy. */
export function statsOf(counts: CallCounts): WindowStats {
  const calls = counts.ok + counts.failed;
  if (calls === 0) return { calls: 0, successRate: 1, errorRate: 0, p95Ms: null };
  const rank = Math.ceil(calls * 0.95);
  let seen = 0;
  let slot = counts.latency.length - 1;
  for (let i = 0; i < counts.latency.length; i += 1) {
    seen += counts.latency[i] ?? 0;
    if (seen >= rank) {
      slot = i;
      break;
    }
  }
  const bound = LATENCY_BOUNDS_MS[slot];
  return {
    calls,
    successRate: counts.ok / calls,
    errorRate: counts.failed / calls,
    p95Ms: bound ?? LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]! * 2,
  };
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface Breaker {
  state: BreakerState;
  since: Date;
  manual: boolean;
  reason: string;
  by: string | null;
}

/**
 * What an automatic breaker becomes, given the calls since it last closed: open when enough of
 * them failed; half-open once an open one has cooled down. A breaker opened or closed by hand
 * stays as staff left it.
 */
export function nextBreaker(
  current: Breaker | undefined,
  stats: WindowStats,
  now: Date,
  options: HealthOptions,
): Breaker | undefined {
  if (current?.manual) return current;
  const state = current?.state ?? 'closed';
  if (state === 'closed' && stats.calls >= options.breakerMinCalls && stats.errorRate >= options.breakerFailureRate) {
    return {
      state: 'open',
      since: now,
      manual: false,
      reason: `${Math.round(stats.errorRate * 100)}% of ${stats.calls} calls failed`,
      by: null,
    };
  }
  if (state === 'open' && current && now.getTime() - current.since.getTime() >= options.breakerCooldownMs) {
    return { ...current, state: 'half_open', since: now, reason: `testing after ${current.reason}` };
  }
  return current;
}

export type HealthState = 'healthy' | 'degraded' | 'open';

/** A channel as people see it: open when its create breaker is open; degraded when slow or failing. */
export function healthStateOf(stats: WindowStats, create: Breaker | undefined, options: HealthOptions): HealthState {
  if (create?.state === 'open') return 'open';
  if (stats.successRate < options.degradedBelow || (stats.p95Ms ?? 0) > options.degradedP95Ms) return 'degraded';
  return 'healthy';
}

/** Calls in the window before a channel's score departs from a fresh channel's 1. */
export const ROUTING_MIN_CALLS = 10;

/**
 * How routing ranks channels: success rate, less a little for slowness (a 10 s p95 costs 0.5);
 * 1 until the window holds {@link ROUTING_MIN_CALLS} calls, so a few early failures move nothing.
 */
export function routingScore(stats: WindowStats): number {
  if (stats.calls < ROUTING_MIN_CALLS) return 1;
  return stats.successRate - Math.min((stats.p95Ms ?? 0) / 20_000, 0.5);
}

export interface ChannelHealthView {
  channel: PaymentChannel;
  state: HealthState;
  successRate: number;
  p95Ms: number | null;
  errorRate: number;
  calls: number;
  /** The window, e.g. `5m`. */
  window: string;
  /** When the channel's create breaker last changed (or the window's start, when it never did). */
  since: string;
  score: number;
  breakers: Record<
    ChannelOperation,
    { state: BreakerState; since: string | null; manual: boolean; reason: string | null }
  >;
}

const minuteOf = (at: Date) => new Date(Math.floor(at.getTime() / 60_000) * 60_000);
const bucketId = (channel: string, operation: string, minute: Date) =>
  `${channel}:${operation}:${minute.toISOString()}`;

/** Whether a call's outcome says the channel is unwell (no answer, 5xx, an answer that does not verify). */
export function isChannelFailure(err: unknown): boolean {
  if (err instanceof ChannelUnavailableError) return true;
  return (
    err instanceof ChannelRejectedError && (err.code === 'bad_response_signature' || err.code === 'malformed_response')
  );
}

export interface ChannelHealth {
  /** Counts a call (kept in this process, written every few seconds). */
  record(channel: PaymentChannel, operation: ChannelOperation, ok: boolean, ms: number): void;
  /** Every channel's health now (read at most every `cacheMs`, so routing costs no read per payment). */
  view(): Promise<ChannelHealthView[]>;
  /** Opens or closes a breaker by hand; `closed` also ends a manual opening. */
  setBreaker(
    channel: PaymentChannel,
    operation: ChannelOperation,
    state: 'open' | 'closed',
    reason: string,
    by: string,
  ): Promise<void>;
  /** Writes what is counted; call before exit. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createChannelHealth(deps: {
  models: Pick<Models, 'channelCalls' | 'channelBreakers'>;
  channels: readonly PaymentChannel[];
  logger: Logger;
  options?: Partial<HealthOptions>;
  /** How often counted calls are written (default 2 s). */
  flushMs?: number;
  /** How long a read view is reused (default 2 s). */
  cacheMs?: number;
  now?: () => Date;
}): ChannelHealth {
  const { models, channels, logger } = deps;
  const options = { ...DEFAULT_HEALTH_OPTIONS, ...deps.options };
  const now = deps.now ?? (() => new Date());
  const cacheMs = deps.cacheMs ?? 2_000;
  const pending = new Map<string, CallCounts>();
  let cached: { at: number; view: Promise<ChannelHealthView[]> } | undefined;
  /** The last view read, to see without a read whether a call goes through a half-open breaker. */
  let latest: ChannelHealthView[] = [];

  async function flush(): Promise<void> {
    const batch = [...pending];
    pending.clear();
    const expiresAt = new Date(now().getTime() + (options.windowMinutes + 60) * 60_000);
    await Promise.all(
      batch.map(async ([_id, counts]) => {
        const inc: Record<string, number> = { ok: counts.ok, failed: counts.failed };
        counts.latency.forEach((n, i) => {
          if (n > 0) inc[`latency.${i}`] = n;
        });
        try {
          await models.channelCalls.updateOne({ _id }, { $inc: inc, $setOnInsert: { expiresAt } }, { upsert: true });
        } catch (err) {
          // Health is advice: a lost count is not a lost payment.
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'channel call counts not written');
        }
      }),
    );
  }
  const timer = setInterval(() => void flush(), deps.flushMs ?? 2_000);
  timer.unref();

  async function breakers(): Promise<Map<string, Breaker>> {
    const docs = await models.channelBreakers.find({}).lean();
    return new Map(
      docs.map((d) => [
        String(d._id),
        { state: d.state as BreakerState, since: d.since, manual: d.manual, reason: d.reason, by: d.by ?? null },
      ]),
    );
  }

  async function read(): Promise<ChannelHealthView[]> {
    const at = now();
    const minutes = Array.from(
      { length: options.windowMinutes },
      (_, i) => new Date(minuteOf(at).getTime() - i * 60_000),
    );
    const ids = channels.flatMap((channel) =>
      CHANNEL_OPERATIONS.flatMap((operation) => minutes.map((m) => bucketId(channel, operation, m))),
    );
    const [docs, known] = await Promise.all([models.channelCalls.find({ _id: { $in: ids } }).lean(), breakers()]);
    const byId = new Map(docs.map((d) => [String(d._id), d]));
    const countsSince = (channel: string, operation: string, since: Date | undefined) => {
      let counts = emptyCounts();
      for (const minute of minutes) {
        // Minute buckets cannot split a minute: after a breaker closes, its minute no longer counts.
        if (since !== undefined && minute.getTime() <= minuteOf(since).getTime()) continue;
        const doc = byId.get(bucketId(channel, operation, minute));
        if (!doc) continue;
        // A lean read gives the Map field as a plain object.
        const slots = (doc.latency ?? {}) as unknown as Record<string, number | undefined>;
        const latency = emptyCounts().latency.map((_, i) => slots[String(i)] ?? 0);
        counts = addCounts(counts, { ok: doc.ok, failed: doc.failed, latency });
      }
      return counts;
    };
    const views: ChannelHealthView[] = [];
    for (const channel of channels) {
      const perOperation = {} as ChannelHealthView['breakers'];
      let all = emptyCounts();
      for (const operation of CHANNEL_OPERATIONS) {
        const key = `${channel}:${operation}`;
        const current = known.get(key);
        // Calls before a breaker closed again do not count against it.
        const closedSince = current?.state === 'closed' ? current.since : undefined;
        const stats = statsOf(countsSince(channel, operation, closedSince));
        all = addCounts(all, countsSince(channel, operation, undefined));
        const next = nextBreaker(current, stats, at, options);
        if (next && next !== current) {
          await models.channelBreakers.updateOne({ _id: key }, { $set: next }, { upsert: true });
          logger.warn(
            { channel, operation, breaker: next.state, reason: next.reason },
            `channel breaker ${next.state}`,
          );
        }
        perOperation[operation] = {
          state: next?.state ?? 'closed',
          since: next?.since.toISOString() ?? null,
          manual: next?.manual ?? false,
          reason: next?.reason ?? null,
        };
      }
      const stats = statsOf(all);
      const create = perOperation.create;
      const createBreaker = create.state === 'closed' ? undefined : ({ state: create.state } as Breaker);
      views.push({
        channel,
        state: healthStateOf(stats, createBreaker, options),
        successRate: stats.successRate,
        p95Ms: stats.p95Ms,
        errorRate: stats.errorRate,
        calls: stats.calls,
        window: `${options.windowMinutes}m`,
        since: create.since ?? minutes[minutes.length - 1]!.toISOString(),
        score: routingScore(stats),
        breakers: perOperation,
      });
    }
    return views;
  }

  return {
    record(channel, operation, ok, ms) {
      const id = bucketId(channel, operation, minuteOf(now()));
      const counts = pending.get(id) ?? emptyCounts();
      if (ok) counts.ok += 1;
      else counts.failed += 1;
      counts.latency[latencySlot(ms)]! += 1;
      pending.set(id, counts);
      // A half-open breaker is decided by the first call through it.
      const breaker = latest.find((v) => v.channel === channel)?.breakers[operation];
      if (breaker?.state !== 'half_open' || breaker.manual) return;
      const next = ok
        ? { state: 'closed', since: now(), manual: false, reason: 'a test call succeeded', by: null }
        : { state: 'open', since: now(), manual: false, reason: 'a test call failed', by: null };
      breaker.state = next.state as BreakerState;
      cached = undefined;
      void models.channelBreakers
        .updateOne({ _id: `${channel}:${operation}`, state: 'half_open' }, { $set: next })
        .then(() =>
          logger.warn(
            { channel, operation, breaker: next.state, reason: next.reason },
            `channel breaker ${next.state}`,
          ),
        )
        .catch(() => undefined);
    },
    view() {
      const at = now().getTime();
      if (!cached || at - cached.at >= cacheMs) {
        const view = read().then((read) => (latest = read));
        cached = { at, view };
        view.catch(() => {
          if (cached?.view === view) cached = undefined;
        });
      }
      return cached.view;
    },
    async setBreaker(channel, operation, state, reason, by) {
      await models.channelBreakers.updateOne(
        { _id: `${channel}:${operation}` },
        { $set: { state, since: now(), manual: state === 'open', reason, by } },
        { upsert: true },
      );
      cached = undefined;
      logger.warn({ channel, operation, breaker: state, by }, `channel breaker set ${state} by hand`);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

/**
 * The adapter with every call counted in `health`: outcome and latency. A channel's business
 * refusal is an answer, so it counts as a success; no answer, a 5xx, or an answer that does not
 * verify count as failures.
 */
export function instrumentAdapter(adapter: ChannelAdapter, health: Pick<ChannelHealth, 'record'>): ChannelAdapter {
  const timed =
    <A extends unknown[], R>(operation: ChannelOperation, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        const result = await fn(...args);
        health.record(adapter.channel, operation, true, performance.now() - started);
        return result;
      } catch (err) {
        health.record(adapter.channel, operation, !isChannelFailure(err), performance.now() - started);
        throw err;
      }
    };
  return {
    ...adapter,
    createOrder: timed('create', adapter.createOrder.bind(adapter)),
    queryOrder: timed('query', adapter.queryOrder.bind(adapter)),
    closeOrder: timed('close', adapter.closeOrder.bind(adapter)),
    // Capturing is the second half of taking the money: counted with the creates.
    ...(adapter.captureOrder ? { captureOrder: timed('create', adapter.captureOrder.bind(adapter)) } : {}),
    refund: timed('refund', adapter.refund.bind(adapter)),
    queryRefund: timed('refund', adapter.queryRefund.bind(adapter)),
  };
}
