/**
 * Runs a service entry point (`BENCH_SERVICE_ENTRY`, an absolute path) and appends its
 * `process.memoryUsage()` as a JSON line to `BENCH_MEMORY_FILE` every `BENCH_MEMORY_EVERY_MS`
 * (default 5000). The soak benchmark starts the API and the worker through it to read their heap,
 * which they expose nowhere else; the services themselves are unchanged.
 */
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const entry = process.env.BENCH_SERVICE_ENTRY;
const file = process.env.BENCH_MEMORY_FILE;
if (!entry || !file) {
  console.error('BENCH_SERVICE_ENTRY and BENCH_MEMORY_FILE are required');
  process.exit(2);
}

const report = () => {
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  appendFileSync(file, `${JSON.stringify({ at: Date.now(), rss, heapUsed, heapTotal, external })}\n`);
};
setInterval(report, Number(process.env.BENCH_MEMORY_EVERY_MS ?? 5_000)).unref();
report();
// Nothing of the project is imported before the entry: the service loads its modules in its own order.
await import(pathToFileURL(entry).href);
