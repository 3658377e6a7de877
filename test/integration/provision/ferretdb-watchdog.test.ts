import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProcess, type ManagedProcess } from '../../../src/provision/processes.js';
import { watchFerretDb } from '../../../src/provision/mongo.js';

/**
 * The FerretDB watchdog against a server in the state FerretDB's pool exhaustion leaves it in: a
 * live process whose port accepts connections and never answers. Real sockets, real processes.
 */
const FAST = { everyMs: 200, misses: 3, pingTimeoutMs: 300 };
const started: ManagedProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(1_000)));
});

/** A process that listens and never answers anything: accepts, reads, stays silent. */
async function silentServer(): Promise<{ process: ManagedProcess; uri: string }> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  const server = startProcess(
    'silent',
    process.execPath,
    ['-e', `require('node:net').createServer((s) => s.resume()).listen(${port}, '127.0.0.1', () => console.log('up'))`],
    {},
  );
  started.push(server);
  await expect
    .poll(() => fetch(`http://127.0.0.1:${port}`, { signal: AbortSignal.timeout(100) }).catch((e: Error) => e.name), {
      timeout: 10_000,
    })
    .toBe('TimeoutError');
  return { process: server, uri: `mongodb://127.0.0.1:${port}/?directConnection=true` };
}

describe('the FerretDB watchdog', () => {
  it('starts again a FerretDB that is running but has answered no ping for the given checks', async () => {
    const silent = await silentServer();
    let current = silent.process;
    const uri = silent.uri;
    const first = current;
    const restarts: number[] = [];
    const watch = watchFerretDb(
      uri,
      () => current,
      async () => {
        await current.stop(1_000);
        // Counted once the stuck one is gone, before its successor is up.
        restarts.push(Date.now());
        ({ process: current } = await silentServer());
      },
      FAST,
    );
    try {
      await expect.poll(() => restarts.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
      expect(first.child.exitCode !== null || first.child.signalCode !== null).toBe(true);
    } finally {
      watch.stop();
    }
  });

  it('leaves a FerretDB that exited to its owner, and stops watching', async () => {
    const { process: server, uri } = await silentServer();
    let restarts = 0;
    const watch = watchFerretDb(
      uri,
      () => server,
      () => {
        restarts += 1;
        return Promise.resolve();
      },
      FAST,
    );
    await server.stop(1_000);
    await new Promise((resolve) => setTimeout(resolve, FAST.everyMs * (FAST.misses + 3)));
    watch.stop();
    expect(restarts).toBe(0);
  });
});
