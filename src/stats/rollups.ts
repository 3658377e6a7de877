import { createHash } from 'node:crypto';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import {
  contributionDelta,
  contributionOf,
  dayOf,
  summarize,
  timeToPaidMs,
  type Contribution,
  type DayCells,
  type PaymentFacts,
  type RollupCell,
  type StatsCount,
  type StatsGroupBy,
} from '../../domain/stats.js';

/** Rollup documents per day: payments of a day spread over this many, so no one document takes every write. */
export const STATS_SHARDS = 8;
/** The widest range one statistics read covers. */
export const STATS_MAX_DAYS = 366;
/** Compare-and-set rounds before a write gives up (and its activity retries). */
const MAX_ROUNDS = 8;

function shardOf(paymentId: string): number {
  return createHash('sha256').update(paymentId).digest()[0]! % STATS_SHARDS;
}

/** How many days from `from` to `to` (`YYYY-MM-DD`, both included); 0 when `to` comes first. */
export function dayCount(from: string, to: string): number {
  return Math.max(Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1, 0);
}

/** Every day from `from` to `to` (`YYYY-MM-DD`, both included). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += 86_400_000) {
    days.push(new Date(ms).toISOString().slice(0, 10));
  }
  return days;
}

/** What a write changed: the milestones the payment reached with it (none for a repeated write). */
export interface RecordedChange {
  reached: StatsCount[];
  /** Time from create to paid, when this write is the one that saw it paid. */
  paidInMs?: number;
}

export interface StatsRollups {
  /**
   * Brings the payment's contribution to its day's rollup up to `facts`: idempotent (a retried or
   * repeated write adds nothing) and safe under concurrent writers (compare-and-set on the
   * payment's last contribution). Called by every writer of the read model after its write.
   */
  record(facts: PaymentFacts): Promise<RecordedChange>;
  /** The days' cells from the rollups. */
  days(from: string, to: string): Promise<DayCells[]>;
  /** `GET /staff/v1/stats`'s groups for the days from `from` to `to`. */
  groups(from: string, to: string, groupBy: StatsGroupBy): Promise<ReturnType<typeof summarize>>;
  /** Today in the statistics' time zone. */
  today(): string;
}

export function createStatsRollups(models: Models, offsetMinutes: number): StatsRollups {
  const rollups = models.statsRollups;

  async function record(facts: PaymentFacts): Promise<RecordedChange> {
    const after = contributionOf(facts, offsetMinutes);
    if (after === undefined) return { reached: [] };
    const id = `${after.day}/${shardOf(facts.paymentId)}`;
    const path = `p.${facts.paymentId}`;
    const encoded = JSON.stringify(after);
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const doc = await rollups.findOne({ _id: id }, { [path]: 1 }).lean<{ p?: Record<string, string> }>();
      const previous = doc?.p?.[facts.paymentId];
      if (previous === encoded) return { reached: [] };
      const before = previous === undefined ? undefined : (JSON.parse(previous) as Contribution);
      // An earlier state of the payment, written late (a write not waited for): the rollup already holds a later one.
      if (before !== undefined && before.v > after.v) return { reached: [] };
      const inc = contributionDelta(before, after);
      const update = { ...(Object.keys(inc).length > 0 ? { $inc: inc } : {}), $set: { [path]: encoded } };
      try {
        const result = await rollups.updateOne({ _id: id, [path]: previous ?? { $exists: false } }, update, {
          upsert: doc === null,
          strict: false,
        });
        if (result.matchedCount + result.upsertedCount > 0) return changeOf(before, after, facts);
      } catch (err) {
        // Another payment of the day created the document first: read it and go again.
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    throw new Error(`statistics of ${facts.paymentId}: the rollup kept changing under the write; retry`);
  }

  async function days(from: string, to: string): Promise<DayCells[]> {
    const wanted = daysBetween(from, to);
    const ids = wanted.flatMap((day) => Array.from({ length: STATS_SHARDS }, (_, shard) => `${day}/${shard}`));
    const docs = await rollups
      .find({ _id: { $in: ids } }, { cells: 1 })
      .lean<{ _id: string; cells?: Record<string, RollupCell> }[]>();
    const byDay = new Map<string, DayCells>();
    for (const doc of docs) {
      const day = doc._id.slice(0, 10);
      const into = byDay.get(day) ?? { day, cells: {} };
      byDay.set(day, into);
      mergeCells(into.cells, doc.cells ?? {});
    }
    return wanted.flatMap((day) => byDay.get(day) ?? []);
  }

  return {
    record,
    days,
    async groups(from, to, groupBy) {
      return summarize(await days(from, to), groupBy);
    },
    today: () => dayOf(Date.now(), offsetMinutes),
  };
}

function changeOf(before: Contribution | undefined, after: Contribution, facts: PaymentFacts): RecordedChange {
  const reached = after.counts.filter((c) => !(before?.counts ?? []).includes(c));
  const paidInMs = reached.includes('succeeded') ? timeToPaidMs(facts) : undefined;
  return paidInMs === undefined ? { reached } : { reached, paidInMs };
}

/** Adds `from`'s counters into `into`, cell by cell (nested counters summed). */
export function mergeCells(into: Record<string, RollupCell>, from: Record<string, RollupCell>): void {
  const add = (target: Record<string, unknown>, source: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(source)) {
      if (typeof value === 'number') target[key] = ((target[key] as number | undefined) ?? 0) + value;
      else if (value !== null && typeof value === 'object') {
        target[key] ??= {};
        add(target[key] as Record<string, unknown>, value as Record<string, unknown>);
      }
    }
  };
  add(into as Record<string, unknown>, from as Record<string, unknown>);
}
