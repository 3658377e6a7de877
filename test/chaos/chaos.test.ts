import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportLines, runChaos } from '../../src/dev/chaos/run.js';
import { loadProvisionSettings } from '../../src/provision/settings.js';

/**
 * The shortened `npm run chaos`: a small stream of payments while a worker, an API, the Temporal
 * server and the MongoDB-wire server are each killed with SIGKILL, a channel is held and another
 * is down, then everything is killed together; every invariant must hold. On servers and ports of
 * its own (it kills them), so it runs beside the rest of the suite.
 */
describe('npm run chaos, shortened', () => {
  it('keeps every payment and every invariant through SIGKILLs of every part', { timeout: 900_000 }, async () => {
    const port = Number(process.env.CHAOS_TEST_PORT ?? 3_970);
    const base = loadProvisionSettings('test', {
      ...process.env,
      TEMPORAL_PORT: String(port + 10),
      MONGODB_PORT: String(port + 11),
    });
    const report = await runChaos({
      settings: { ...base, dataDir: join(base.dataDir, '..', 'chaos-test') },
      payments: 30,
      inFlight: 15,
      apis: 1,
      workers: 1,
      basePort: port,
      downMs: 2_000,
      gapMs: 2_000,
      settleMs: 300_000,
    });
    const lines = reportLines(report);
    console.log(lines.join('\n'));

    expect(report.faults.map((f) => f.outcome)).toEqual(report.faults.map(() => 'injected'));
    expect(report.faults.map((f) => f.name)).toEqual([
      'SIGKILL worker-1',
      'SIGKILL api-1',
      'alipay slow: create and query held for the down time',
      'wechatpay outage: create, query and close answer 503',
      'SIGKILL the Temporal server (restarted on its SQLite file)',
      'SIGKILL the MongoDB-wire server and its storage (restarted on their data)',
      'SIGKILL everything together: every worker, every API, Temporal, MongoDB',
    ]);
    for (const invariant of report.invariants) {
      expect(invariant.violations, invariant.name).toEqual([]);
      expect(invariant.checked, invariant.name).toBeGreaterThan(0);
    }
    expect(report.requests.unusable).toEqual([]);
    // The kills were felt: clients saw dead processes and retried with the same key.
    expect(report.requests.retried.network ?? 0).toBeGreaterThan(0);
  });
});
