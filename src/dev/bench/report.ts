import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchChart } from './chart.js';
import { MEASURED_PROCESSES, type LatencyFigures, type MeasuredProcess, type PassFigures } from './figures.js';
import type { SoakFigures } from './soak.js';

/** Product figure over baseline figure, for each latency percentile. */
type LatencyRatios = Record<'p50' | 'p95' | 'p99', number>;

/** Everything one `npm run bench` measured, as written to `<dataDir>/bench/bench-<timestamp>.json`. */
export interface BenchReport {
  startedAt: string;
  machine: string;
  temporal: string;
  mongodb: string;
  processes: string;
  baselineProcesses: string;
  options: {
    payments: number;
    /** The baseline pass's count: the product's, except in a soak (see `--baseline-payments`). */
    baselinePayments?: number;
    concurrency: number;
    lowLoadPayments: number;
    soak: boolean;
  };
  /** CPU seconds per second each process used before the passes, with nothing driven. */
  idleCpuSecondsPerSecond: Record<MeasuredProcess, number | null>;
  baseline: PassFigures;
  product: PassFigures;
  lowLoadBaseline: PassFigures;
  lowLoad: PassFigures;
  /** Product over baseline at the main concurrency. */
  ratios: {
    throughput: number;
    createMs: LatencyRatios;
    createToSucceededMs: LatencyRatios;
    cpuPerPayment: number | null;
  };
  /** What the product adds to the baseline per payment at concurrency 1, ms. */
  lowLoadAddedMs: { createMs: LatencyRatios; createToSucceededMs: LatencyRatios };
  soak: SoakFigures | null;
}

const PERCENTILES = ['p50', 'p95', 'p99'] as const;

const each = (f: (k: (typeof PERCENTILES)[number]) => number): LatencyRatios =>
  Object.fromEntries(PERCENTILES.map((k) => [k, f(k)])) as LatencyRatios;

export function latencyRatios(product: LatencyFigures, baseline: LatencyFigures): LatencyRatios {
  return each((k) => product[k] / baseline[k]);
}

export function latencyAdded(product: LatencyFigures, baseline: LatencyFigures): LatencyRatios {
  return each((k) => product[k] - baseline[k]);
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
const pad = (label: string) => label.padEnd(22);
const times = (n: number | null) => (n === null || !Number.isFinite(n) ? 'n/a' : n.toFixed(2));

function latencyLine(label: string, figures: LatencyFigures): string {
  return `${pad(label)} p50 ${ms(figures.p50)}  p95 ${ms(figures.p95)}  p99 ${ms(figures.p99)}  (n=${figures.n})`;
}

function cpuLine(label: string, pass: PassFigures): string {
  const parts = MEASURED_PROCESSES.map((process) => {
    const seconds = pass.cpuSeconds[process];
    return `${process} ${seconds === null ? 'n/a' : `${seconds.toFixed(2)} s`}`;
  });
  const perPayment = pass.cpuMsPerPayment === null ? 'n/a' : `${pass.cpuMsPerPayment.toFixed(1)} ms`;
  return `${pad(label)} ${parts.join(', ')}; ${perPayment} per payment`;
}

/** The lines of one pass; `prefix` is empty only for the product's main pass, whose lines scripts read. */
function passLines(prefix: string, pass: PassFigures): string[] {
  const label = (name: string) => (prefix ? `${prefix} ${name}` : name);
  return [
    `${label('payments')}     ${pass.payments} created, ${pass.completed} ${pass.system === 'product' ? 'succeeded' : 'completed'}, ${pass.failedRequests} failed requests`,
    `${label('throughput')}   ${pass.throughput.toFixed(1)} payments/s end to end (${pass.seconds.toFixed(1)} s)`,
    latencyLine(label('create latency'), pass.createMs),
    latencyLine(label('create-to-succeeded'), pass.createToSucceededMs),
  ];
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The printed report: today's product lines unprefixed, every other line led by its pass's name. */
export function reportLines(report: BenchReport): string[] {
  const { baseline, product, lowLoadBaseline, lowLoad, ratios, lowLoadAddedMs } = report;
  const lines = [
    `machine      ${report.machine}`,
    `temporal     ${report.temporal}`,
    `mongodb      ${report.mongodb}`,
    `processes    ${report.processes}`,
    `baseline processes   ${report.baselineProcesses}`,
    `${pad('idle cpu')} ${MEASURED_PROCESSES.map((process) => {
      const rate = report.idleCpuSecondsPerSecond[process];
      return `${process} ${rate === null ? 'n/a' : `${rate.toFixed(2)} s/s`}`;
    }).join(', ')} (before the passes, nothing driven)`,
    ...passLines('', product),
    cpuLine('product cpu', product),
    ...passLines('baseline', baseline),
    cpuLine('baseline cpu', baseline),
    `ratio throughput ${times(ratios.throughput)} of baseline (${product.throughput.toFixed(1)} vs ${baseline.throughput.toFixed(1)} payments/s)`,
    ...PERCENTILES.map(
      (k) =>
        `ratio create ${k} ${times(ratios.createMs[k])} times baseline (${ms(product.createMs[k])} vs ${ms(baseline.createMs[k])})`,
    ),
    ...PERCENTILES.map(
      (k) =>
        `ratio create-to-succeeded ${k} ${times(ratios.createToSucceededMs[k])} times baseline (${ms(product.createToSucceededMs[k])} vs ${ms(baseline.createToSucceededMs[k])})`,
    ),
    `ratio cpu per payment ${times(ratios.cpuPerPayment)} times baseline`,
    ...passLines('low-load baseline', lowLoadBaseline),
    cpuLine('low-load baseline cpu', lowLoadBaseline),
    ...passLines('low-load', lowLoad),
    cpuLine('low-load cpu', lowLoad),
    ...(['p50', 'p95'] as const).map(
      (k) =>
        `low-load added ${k} create ${ms(lowLoadAddedMs.createMs[k])}, create-to-succeeded ${ms(lowLoadAddedMs.createToSucceededMs[k])} per payment over the baseline`,
    ),
  ];
  for (const [service, memory] of Object.entries(report.soak?.services ?? {})) {
    for (const [what, figure] of [
      ['rss', memory.rss],
      ['heap used', memory.heapUsed],
    ] as const) {
      lines.push(
        figure
          ? `soak ${service} ${what} ${mib(figure.firstTenthBytes)} in the first tenth, ${mib(figure.lastTenthBytes)} in the last: ${figure.growthBytes >= 0 ? '+' : ''}${mib(figure.growthBytes)} (${figure.growthPercent >= 0 ? '+' : ''}${figure.growthPercent.toFixed(1)}%, ${figure.samples} samples)`
          : `soak ${service} ${what} n/a (fewer than two samples)`,
      );
      if (figure) {
        lines.push(
          `soak ${service} ${what} by tenths of the run: ${figure.tenthsBytes.map((b) => (b / 2 ** 20).toFixed(0)).join(', ')} MiB`,
        );
      }
    }
  }
  return lines;
}

/** A server's source without the binary's path, to fit the chart's header. */
const withoutPaths = (source: string) => source.replace(/ \([^)]*\/[^)]*\)/g, '');

/**
 * Writes the report as JSON and as an SVG chart under `<dataDir>/bench/`, named by the time the run
 * started, with copies as `latest.json` and `latest.svg`. Answers both paths.
 */
export function writeReport(dataDir: string, report: BenchReport): { json: string; svg: string } {
  const dir = join(dataDir, 'bench');
  mkdirSync(dir, { recursive: true });
  const name = `bench-${report.startedAt.replace(/[:.]/g, '-')}`;
  const json = join(dir, `${name}.json`);
  const svg = join(dir, `${name}.svg`);
  // Three decimals are more than any figure here means.
  const rounded = (_key: string, value: unknown) =>
    typeof value === 'number' ? Math.round(value * 1000) / 1000 : value;
  writeFileSync(json, `${JSON.stringify(report, rounded, 2)}\n`);
  const { options } = report;
  writeFileSync(
    svg,
    benchChart(
      {
        title: `Payment benchmark, ${report.startedAt}`,
        lines: [
          `${options.payments} payments at ${options.concurrency} concurrent; low-load passes: ${options.lowLoadPayments} at 1`,
          `bare baseline: ${report.baselineProcesses}`,
          `machine: ${report.machine}`,
          `temporal: ${withoutPaths(report.temporal)}; mongodb: ${withoutPaths(report.mongodb)}`,
        ],
      },
      [report.baseline, report.product, report.lowLoadBaseline, report.lowLoad],
    ),
  );
  copyFileSync(json, join(dir, 'latest.json'));
  copyFileSync(svg, join(dir, 'latest.svg'));
  return { json, svg };
}
