/** The figures one pass of the benchmark yields, as printed and as written to the JSON report. */

/** Milliseconds; NaN (null in JSON) when the pass has no sample. */
export interface LatencyFigures {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

/** Which system a pass drives: the bare Temporal workflow or the payment system through its API. */
export type BenchSystem = 'baseline' | 'product';

/** The processes whose CPU time a pass reports, in print order. */
export const MEASURED_PROCESSES = [
  'temporal server',
  'mongodb-wire server',
  /** FerretDB's storage when it runs over PostgreSQL (its server and every backend). */
  'postgresql',
  'api',
  'worker',
  'sandbox',
  'baseline worker',
  'bench client',
] as const;
export type MeasuredProcess = (typeof MEASURED_PROCESSES)[number];

export interface PassFigures {
  /** `baseline`, `product`, `low-load baseline`, `low-load`: the word its printed lines start with. */
  name: string;
  system: BenchSystem;
  payments: number;
  concurrency: number;
  /** Payments whose create answered with a payment. */
  created: number;
  /** Payments that reached the end: `succeeded` (product) or a completed workflow (baseline). */
  completed: number;
  /** Creates or payments that did not answer as expected. */
  failedRequests: number;
  /** From the first create to the last completion. */
  seconds: number;
  /** Completed payments per second over `seconds`. */
  throughput: number;
  /** The create round trip (product: `POST /v1/payments`; baseline: update-with-start). */
  createMs: LatencyFigures;
  /** From before the create to the payment's completion. */
  createToSucceededMs: LatencyFigures;
  /** CPU seconds each process used during the pass; null when it could not be read. */
  cpuSeconds: Record<MeasuredProcess, number | null>;
  /** The measured CPU time of all processes, per completed payment. */
  cpuMsPerPayment: number | null;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function latencyFigures(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), n: sorted.length };
}
