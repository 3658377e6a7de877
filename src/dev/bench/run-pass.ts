import { say } from '../../provision/processes.js';
import {
  latencyFigures,
  MEASURED_PROCESSES,
  type BenchSystem,
  type MeasuredProcess,
  type PassFigures,
} from './figures.js';
import { processTreeCpuSeconds } from './process-usage.js';

/** One payment driven by a client slot: the create's round trip, and the payment's id once paid. */
export interface DrivenPayment {
  createMs: number;
  /** Set when the create answered with a payment. */
  id: string | undefined;
  /** True when the payment was also paid (the notification accepted). */
  paid: boolean;
  /** Why the create or the payment did not answer as expected. */
  failure?: string;
}

/** What a pass drives: the product through its API, or the bare baseline workflow. */
export interface BenchTarget {
  system: BenchSystem;
  /** Creates payment `i` of the pass named `pass` and pays it at once. */
  createAndPay(pass: string, i: number): Promise<DrivenPayment>;
  /** How many payments of this target have completed so far, all passes together. */
  completedCount(): Promise<number>;
  /** When each of the completed payments among `ids` completed, ms since the epoch. */
  completionTimes(ids: Set<string>): Promise<Map<string, number>>;
}

/** The process ids whose CPU time is read at the start and the end of each pass (the bench client is this process). */
export type MeasuredPids = () => Partial<Record<Exclude<MeasuredProcess, 'bench client'>, number>>;

function cpuSnapshot(pids: MeasuredPids): Record<MeasuredProcess, number | undefined> {
  const usage = process.cpuUsage();
  return {
    ...processTreeCpuSeconds(pids()),
    'bench client': (usage.user + usage.system) / 1e6,
  } as Record<MeasuredProcess, number | undefined>;
}

function cpuUsed(
  before: Record<MeasuredProcess, number | undefined>,
  after: Record<MeasuredProcess, number | undefined>,
): Record<MeasuredProcess, number | null> {
  return Object.fromEntries(
    MEASURED_PROCESSES.map((process) => {
      const from = before[process];
      const to = after[process];
      return [process, from === undefined || to === undefined ? null : Math.max(0, to - from)];
    }),
  ) as Record<MeasuredProcess, number | null>;
}

/**
 * CPU seconds per second each process uses while no payment is driven (pollers, timers, the
 * server's own housekeeping), over `ms`: what every pass pays regardless of its load.
 */
export async function measureIdle(pids: MeasuredPids, ms: number): Promise<Record<MeasuredProcess, number | null>> {
  say(`bench: measuring idle CPU for ${ms / 1000} s`);
  const before = cpuSnapshot(pids);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const used = cpuUsed(before, cpuSnapshot(pids));
  const seconds = (performance.now() - t0) / 1000;
  return Object.fromEntries(
    Object.entries(used).map(([process, s]) => [process, s === null ? null : s / seconds]),
  ) as Record<MeasuredProcess, number | null>;
}

const COMPLETION_TIMEOUT_MS = 600_000;
/** The product's count is a scan on FerretDB (indexed lookups are by `_id` only): not too often. */
const COMPLETION_POLL_MS = 2_000;

/**
 * Runs `payments` payments through `target`, `concurrency` at a time: each client slot creates a
 * payment, pays it, and goes on to the next; the payments then finish on their own. Prints
 * progress every 5 s and measures the CPU time of every process from the first create to the last
 * completion.
 */
export async function runPass(
  name: string,
  target: BenchTarget,
  options: { payments: number; concurrency: number; pids: MeasuredPids },
): Promise<PassFigures> {
  const { payments, concurrency } = options;
  const createMs: number[] = [];
  const startedAt = new Map<string, number>();
  const paid = new Set<string>();
  let next = 0;
  let failedRequests = 0;
  say(`bench: ${name} pass, ${payments} payments, ${concurrency} at a time (${target.system})`);
  const completedBefore = await target.completedCount();
  const cpuBefore = cpuSnapshot(options.pids);
  const t0 = Date.now();
  const fail = (i: number, reason: string) => {
    failedRequests += 1;
    if (failedRequests <= 3) say(`bench: ${name} payment ${i} failed: ${reason}`);
  };
  const slot = async () => {
    while (next < payments) {
      const i = next++;
      const wall = Date.now();
      try {
        const payment = await target.createAndPay(name, i);
        createMs.push(payment.createMs);
        if (payment.id !== undefined) startedAt.set(payment.id, wall);
        if (payment.id !== undefined && payment.paid) paid.add(payment.id);
        else fail(i, payment.failure ?? 'not paid');
      } catch (err) {
        fail(i, (err as Error).message);
      }
    }
  };
  const progress = setInterval(() => say(`bench: ${name} ${createMs.length}/${payments} created`), 5_000);
  try {
    await Promise.all(Array.from({ length: concurrency }, slot));
  } finally {
    clearInterval(progress);
  }

  const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
  const word = target.system === 'product' ? 'succeeded' : 'completed';
  let lastReport = Date.now();
  for (;;) {
    const count = (await target.completedCount()) - completedBefore;
    if (count >= paid.size || Date.now() > deadline) break;
    if (Date.now() - lastReport >= 5_000) {
      lastReport = Date.now();
      say(`bench: ${name} ${count}/${paid.size} ${word}`);
    }
    await new Promise((r) => setTimeout(r, COMPLETION_POLL_MS));
  }
  const done = await target.completionTimes(paid);
  const cpuAfter = cpuSnapshot(options.pids);

  const endToEnd: number[] = [];
  let lastDone = t0;
  for (const [id, at] of done) {
    const begin = startedAt.get(id);
    if (begin === undefined) continue;
    endToEnd.push(at - begin);
    lastDone = Math.max(lastDone, at);
  }
  const seconds = (lastDone - t0) / 1000;
  const cpuSeconds = cpuUsed(cpuBefore, cpuAfter);
  // The sandbox plays the channels and the platform, which the baseline has none of: it is reported
  // but is not the payment system's cost.
  const cpuTotal = Object.entries(cpuSeconds)
    .filter(([process]) => process !== 'sandbox')
    .reduce<number>((sum, [, s]) => sum + (s ?? 0), 0);
  return {
    name,
    system: target.system,
    payments,
    concurrency,
    created: startedAt.size,
    completed: endToEnd.length,
    failedRequests,
    seconds,
    throughput: seconds > 0 ? endToEnd.length / seconds : 0,
    createMs: latencyFigures(createMs),
    createToSucceededMs: latencyFigures(endToEnd),
    cpuSeconds,
    cpuMsPerPayment: endToEnd.length > 0 ? (cpuTotal * 1000) / endToEnd.length : null,
  };
}
