import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PlatformClient } from '../../client/index.js';
import { loadOrCreateDevPlatformKey } from '../../crypto/platform-keys.js';
import { postgresDataDir } from '../../provision/postgres.js';
import { say } from '../../provision/processes.js';
import type { ProvisionSettings } from '../../provision/settings.js';
import { sandboxControlTokenFor } from '../../sandbox/control-token.js';
import { cachedWorkflowBundle } from '../../worker/workflow-bundle.js';
import { ChaosCluster } from './cluster.js';
import { faultSchedule, injectFaults, type FaultRecord } from './faults.js';
import { checkInvariants, settle, type InvariantResult } from './invariants.js';
import { runJourneys, type RequestTally } from './journeys.js';

export interface ChaosOptions {
  settings: ProvisionSettings;
  payments: number;
  inFlight: number;
  apis: number;
  workers: number;
  /** First API port; the sandbox and its database take the next free ones (see below). */
  basePort: number;
  /** How long a killed part stays down, and the pause between faults. */
  downMs: number;
  gapMs: number;
  /** How long to wait, after the load, for every payment to settle. */
  settleMs: number;
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'settings'>;
  processes: string[];
  seconds: number;
  /** When the last journey ended (its last answer came), from the start. */
  journeysSeconds: number;
  faults: FaultRecord[];
  invariants: InvariantResult[];
  requests: RequestTally;
  /** Exits the run did not cause, restarted by its supervisor, per service. */
  crashes: Record<string, number>;
  ok: boolean;
}

/**
 * A chaos run: a steady stream of payments through the payment system while its processes and
 * servers are killed one at a time and then together, a channel slows and another goes down; then
 * the invariants, checked from the outside. See src/dev/chaos.ts for the command.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { settings } = options;
  rmSync(settings.dataDir, { recursive: true, force: true });
  rmSync(postgresDataDir(settings, { runAs: process.getuid?.() === 0 ? 'postgres' : undefined }), {
    recursive: true,
    force: true,
  });
  const runId = Date.now().toString(36);
  const keysDir = join(settings.dataDir, 'keys');
  const bundle = await cachedWorkflowBundle(settings.cacheDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    TEMPORAL_NAMESPACE: settings.namespace,
    TEMPORAL_TASK_QUEUE: `chaos-${runId}`,
    WORKFLOW_BUNDLE_PATH: bundle.path,
    KEYS_DIR: keysDir,
    SANDBOX_TIME_SCALE: '0.01',
    PLATFORM_RATE_LIMIT_PER_MINUTE: '1000000',
    CALLBACK_RATE_LIMIT_PER_MINUTE: '1000000',
  };
  const cluster = await ChaosCluster.start({
    settings: { ...settings, persistent: true, killable: true },
    apis: options.apis,
    workers: options.workers,
    apiPort: options.basePort,
    sandboxPort: options.basePort + options.apis,
    sandboxMongodbPort: options.basePort + options.apis + 1,
    env,
    logDir: join(settings.dataDir, 'logs'),
  });
  try {
    const processes = cluster.describe();
    for (const line of processes) say(`chaos: ${line}`);
    const key = loadOrCreateDevPlatformKey(keysDir);
    const sandboxToken = sandboxControlTokenFor({ NODE_ENV: 'test', KEYS_DIR: keysDir });
    const tally: RequestTally = { retried: {}, unusable: [] };
    const context = {
      clients: cluster.apiUrls.map((baseUrl) => new PlatformClient({ baseUrl, ...key, maxRetries: 0 })),
      sandboxUrl: cluster.sandboxUrl,
      sandboxToken,
      runId,
      tally,
      giveUpAt: Number.POSITIVE_INFINITY,
    };
    const startedAt = Date.now();
    say(
      `chaos: ${options.payments} payments, ${options.inFlight} in flight, ${options.apis} API + ${options.workers} worker processes`,
    );
    const steps = faultSchedule(cluster, { url: cluster.sandboxUrl, token: sandboxToken }, options);
    const faults = injectFaults(steps, { gapMs: options.gapMs, startedAt }).then((records) => {
      context.giveUpAt = Date.now() + options.settleMs;
      return records;
    });
    const every = Math.max(1, Math.round(options.payments / 10));
    const journeys = await runJourneys(context, options.payments, options.inFlight, (done) => {
      if (done % every === 0) say(`chaos: ${done}/${options.payments} journeys done`);
    });
    const journeysSeconds = (Date.now() - startedAt) / 1000;
    const faultRecords = await faults;
    say('chaos: load and faults done; waiting for every payment to settle');
    // The checks' own reads retry (as clients) within the settle time, then within a few minutes.
    context.giveUpAt = Date.now() + options.settleMs;
    const views = await settle(context, journeys, options.settleMs, (settled, total) => {
      say(`chaos: ${settled}/${total} payments settled`);
    });
    context.giveUpAt = Date.now() + 300_000;
    const invariants = await checkInvariants(context, journeys, views);
    const seconds = (Date.now() - startedAt) / 1000;
    const { settings: _settings, ...shown } = options;
    return {
      options: shown,
      processes,
      seconds,
      journeysSeconds,
      faults: faultRecords,
      invariants,
      requests: tally,
      crashes: cluster.crashes(),
      ok:
        invariants.every((i) => i.violations.length === 0) &&
        faultRecords.every((f) => f.outcome === 'injected') &&
        tally.unusable.length === 0,
    };
  } finally {
    await cluster.stop();
  }
}

/** The report as a person reads it: the faults, then the invariants, then how requests fared. */
export function reportLines(report: ChaosReport): string[] {
  const lines = [
    `chaos run: ${report.options.payments} payments, ${report.options.inFlight} in flight, ` +
      `${report.options.apis} API + ${report.options.workers} worker processes, ${report.seconds.toFixed(0)} s`,
    '',
    'fault injected                                                               at (s)  back after (s)  outcome',
  ];
  for (const f of report.faults) {
    lines.push(
      `${f.name.padEnd(76)} ${f.at.toFixed(0).padStart(6)}  ${f.seconds.toFixed(1).padStart(14)}  ${f.outcome}`,
    );
  }
  lines.push(
    '',
    'invariant                                                                          checked  violations',
  );
  for (const i of report.invariants) {
    lines.push(`${i.name.padEnd(82)} ${String(i.checked).padStart(7)}  ${String(i.violations.length).padStart(10)}`);
    for (const v of i.violations.slice(0, 5)) lines.push(`    ${v}`);
    if (i.violations.length > 5) lines.push(`    ... and ${i.violations.length - 5} more`);
  }
  const retried = Object.entries(report.requests.retried)
    .map(([what, n]) => `${what}: ${n}`)
    .join(', ');
  lines.push(
    '',
    `answers a client retried with the same Idempotency-Key: ${retried || 'none'}`,
    `answers no client can act on (500): ${report.requests.unusable.length}`,
    `slowest request, from its first try to its usable answer: ${
      report.requests.slowest
        ? `${report.requests.slowest.seconds.toFixed(1)} s (${report.requests.slowest.what.replace(/pay_\w+/, ':id')}, first tried ${report.requests.slowest.firstTryAt}${report.requests.slowest.paymentId ? `, ${report.requests.slowest.paymentId}` : ''})`
        : 'none'
    }; last journey ended at ${report.journeysSeconds.toFixed(0)} s`,
    ...report.requests.unusable.slice(0, 5).map((u) => `    ${u.what}: ${u.status} ${u.body.slice(0, 200)}`),
    `exits the run did not cause, restarted: ${
      Object.entries(report.crashes)
        .filter(([, n]) => n > 0)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ') || 'none'
    }`,
    '',
    report.ok ? 'chaos: every invariant held' : 'chaos: INVARIANTS BROKEN (see above)',
  );
  return lines;
}
