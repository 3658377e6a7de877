/**
 * `npm run chaos`: proof of survival. Starts a Temporal dev server (on a SQLite file) and a
 * MongoDB-wire server of its own, the sandbox process with a MongoDB-wire server of its own (the
 * witness no fault touches), and the payment system's API and worker processes; runs a steady
 * stream of payments (paid, declined then paid, partly refunded, canceled, abandoned) while it
 * kills with SIGKILL, one at a time, a worker, an API, the Temporal server and the MongoDB-wire
 * server, slows one channel and takes another down, then kills everything together; then checks
 * the invariants from the outside (the API, the channels' books, the platform stub) and prints a
 * table of faults and invariants. Exits 1 when an invariant broke.
 *
 * Options: `--payments N` (default 600), `--in-flight N` (default 300), `--apis N` and
 * `--workers N` (default 1 each; 2 and 2 is the scale-out run), `--down-seconds S` (default 5),
 * `--gap-seconds S` (default 10), `--port P` (first API port, default 3950).
 */
import { parseArgs } from 'node:util';
import { loadProvisionSettings } from '../provision/settings.js';
import { reportLines, runChaos } from './chaos/run.js';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';

const { values } = parseArgs({
  options: {
    payments: { type: 'string', default: '600' },
    'in-flight': { type: 'string', default: '300' },
    apis: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    'down-seconds': { type: 'string', default: '5' },
    'gap-seconds': { type: 'string', default: '10' },
    port: { type: 'string', default: '3950' },
  },
});
const numbers = {
  payments: Number(values.payments),
  inFlight: Number(values['in-flight']),
  apis: Number(values.apis),
  workers: Number(values.workers),
  down: Number(values['down-seconds']),
  gap: Number(values['gap-seconds']),
  port: Number(values.port),
};
if (Object.values(numbers).some((n) => !Number.isSafeInteger(n) || n < 1)) {
  console.error(
    'usage: npm run chaos -- [--payments N] [--in-flight N] [--apis N] [--workers N] [--down-seconds S] [--gap-seconds S] [--port P]',
  );
  process.exit(2);
}

async function main(): Promise<void> {
  const base = loadProvisionSettings('test', {
    ...process.env,
    TEMPORAL_PORT: process.env.TEMPORAL_PORT ?? '17733',
    MONGODB_PORT: process.env.MONGODB_PORT ?? '27733',
  });
  const settings = { ...base, dataDir: join(base.dataDir, '..', 'chaos') };
  const report = await runChaos({
    settings,
    payments: numbers.payments,
    inFlight: numbers.inFlight,
    apis: numbers.apis,
    workers: numbers.workers,
    basePort: numbers.port,
    downMs: numbers.down * 1000,
    gapMs: numbers.gap * 1000,
    settleMs: 600_000,
  });
  console.log('\n=== chaos ===');
  const lines = reportLines(report);
  for (const line of lines) console.log(line);
  const dir = join(settings.dataDir, '..', 'chaos-reports');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  writeFileSync(`${file}.json`, JSON.stringify(report, null, 2));
  writeFileSync(`${file}.txt`, `${lines.join('\n')}\n`);
  console.log(`report ${file}.txt`);
  if (!report.ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`[chaos] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
