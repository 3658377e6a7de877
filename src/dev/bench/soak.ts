import { existsSync, readFileSync } from 'node:fs';
import { residentBytes } from './process-usage.js';

/** One memory figure over a pass, from its samples: growth from the mean of the first tenth to that of the last. */
export interface MemoryGrowth {
  samples: number;
  firstTenthBytes: number;
  lastTenthBytes: number;
  growthBytes: number;
  growthPercent: number;
  /** The mean of each tenth of the run, in order: a warm-up levels off, a leak keeps climbing. */
  tenthsBytes: number[];
  series: { at: number; bytes: number }[];
}

/** Memory of a service over the soak pass: RSS from /proc, heap from the service's own report. */
export interface ServiceMemory {
  rss: MemoryGrowth | null;
  heapUsed: MemoryGrowth | null;
}

export interface SoakFigures {
  everyMs: number;
  services: Record<string, ServiceMemory>;
}

export function memoryGrowth(series: { at: number; bytes: number }[]): MemoryGrowth | null {
  if (series.length < 2) return null;
  const tenth = Math.max(1, Math.ceil(series.length / 10));
  const mean = (part: { bytes: number }[]) => part.reduce((sum, s) => sum + s.bytes, 0) / part.length;
  const first = mean(series.slice(0, tenth));
  const last = mean(series.slice(-tenth));
  const tenthsBytes = Array.from({ length: 10 }, (_, i) =>
    series.slice(Math.floor((i * series.length) / 10), Math.floor(((i + 1) * series.length) / 10)),
  )
    .filter((part) => part.length > 0)
    .map(mean);
  return {
    samples: series.length,
    firstTenthBytes: first,
    lastTenthBytes: last,
    growthBytes: last - first,
    growthPercent: first > 0 ? ((last - first) / first) * 100 : 0,
    tenthsBytes,
    series,
  };
}

/** The heap lines a service's memory reporter wrote between `from` and `to`. */
function heapSeries(file: string, from: number, to: number): { at: number; bytes: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { at: number; heapUsed: number })
    .filter((s) => s.at >= from && s.at <= to)
    .map((s) => ({ at: s.at, bytes: s.heapUsed }));
}

/**
 * Samples the RSS of each service every `everyMs` from now until `stop()`, which answers the
 * growth of RSS and of the used heap (read from the files the services' memory reporters write).
 */
export function sampleMemory(
  services: Record<string, { pid: number | undefined; heapFile: string }>,
  everyMs: number,
): { stop(): SoakFigures } {
  const from = Date.now();
  const rss = new Map<string, { at: number; bytes: number }[]>(Object.keys(services).map((name) => [name, []]));
  const sample = () => {
    const at = Date.now();
    for (const [name, { pid }] of Object.entries(services)) {
      const bytes = residentBytes(pid);
      if (bytes !== undefined) rss.get(name)?.push({ at, bytes });
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const to = Date.now();
      return {
        everyMs,
        services: Object.fromEntries(
          Object.entries(services).map(([name, { heapFile }]) => [
            name,
            { rss: memoryGrowth(rss.get(name) ?? []), heapUsed: memoryGrowth(heapSeries(heapFile, from, to)) },
          ]),
        ),
      };
    },
  };
}
