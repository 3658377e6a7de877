import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { PlatformClient } from '../../src/client/index.js';
import { loadDevPlatformKey } from '../../src/crypto/platform-keys.js';
import { isPortOpen } from '../../src/provision/processes.js';
import { sandboxControlTokenPath } from '../../src/sandbox/control-token.js';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';
import { buildPaymentRequest } from '../support/builders.js';

/** `npm start` itself (src/dev/start.ts), on ports and a data folder of this test's own. */
interface DevSystem {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

const dataDir = mkdtempSync(join(tmpdir(), 'kp-dev-start-'));
// Below Linux's ephemeral range (32768+), where the servers started here take their own ports.
const base = 20_000 + Math.floor(Math.random() * 12_000);
// Each start's sandbox process listens on its API's port + 1.
const ports = {
  temporal: base,
  ui: base + 1,
  mongodb: base + 2,
  api: base + 3,
  sandbox: base + 4,
  secondApi: base + 5,
};
const running: DevSystem[] = [];
/** Where `npm start` keeps its keys (the development platform key among them) under PAYMENTS_DATA_DIR. */
const keysDir = join(dataDir, 'dev', 'keys');

function startDevSystem(apiPort: number): DevSystem {
  const { TEMPORAL_ADDRESS: _t, MONGODB_URI: _m, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/dev/start.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      API_PORT: String(apiPort),
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      MONGODB_PORT: String(ports.mongodb),
      PAYMENTS_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const system = { child, output: () => output, exit };
  running.push(system);
  return system;
}

/** `npm run platform -- ...`: the CLI that signs and sends one request, with this test's keys. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/client/cli.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, KEYS_DIR: keysDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

async function untilUp(system: DevSystem): Promise<void> {
  const deadline = Date.now() + 240_000;
  while (!system.output().includes('Press Ctrl-C to stop.')) {
    if (system.child.exitCode !== null) throw new Error(`npm start exited early:\n${system.output()}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${system.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(system: DevSystem): Promise<number | null> {
  system.child.kill('SIGINT');
  return system.exit;
}

afterAll(async () => {
  for (const system of running) if (system.child.exitCode === null) await stop(system);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it(
    'brings up every part, keeps payments across a restart, and reuses running servers',
    { timeout: 600_000 },
    async () => {
      const first = startDevSystem(ports.api);
      await untilUp(first);
      expect(first.output()).toMatch(new RegExp(`API\\s+http://127\\.0\\.0\\.1:${ports.api}`));
      expect(first.output()).toMatch(new RegExp(`Temporal Web UI\\s+http://127\\.0\\.0\\.1:${ports.ui}`));
      expect(first.output()).toMatch(/MongoDB\s+mongodb:\/\/127\.0\.0\.1/);
      // The sandbox runs as a process of its own, with a database of its own.
      expect(first.output()).toMatch(
        new RegExp(
          `Sandbox process\\s+http://127\\.0\\.0\\.1:${ports.sandbox} .*own database mongodb://\\S+_sandbox\\)`,
        ),
      );
      expect((await fetch(`http://127.0.0.1:${ports.sandbox}/readyz`)).status).toBe(200);

      const api = `http://127.0.0.1:${ports.api}`;
      expect((await fetch(`${api}/readyz`)).status).toBe(200);
      const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
      expect(ui.status).toBe(200);

      // A platform request signed by the CLI with the development key `npm start` generated.
      const request = buildPaymentRequest();
      const cli = await runCli(['POST', '/v1/payments', JSON.stringify(request), '--url', api]);
      expect(cli.stderr).toContain('HTTP 201');
      expect(cli.code).toBe(0);
      const payment = JSON.parse(cli.stdout) as { paymentId: string };
      const platform = new PlatformClient({
        baseUrl: api,
        ...loadDevPlatformKey(keysDir),
        maxRetries: 0,
      });
      expect((await fetch(`${api}/v1/payments/${payment.paymentId}`)).status).toBe(401);

      // The sandbox control API takes the token the banner names, generated beside the platform key.
      const tokenPath = sandboxControlTokenPath(keysDir);
      expect(first.output()).toMatch(/Sandbox token\s+\S*sandbox-control\.token/);
      expect(first.output()).toContain(tokenPath);
      const events = `${api}/sandbox/v1/platform/events?orderId=${String(request.orderId)}`;
      expect((await fetch(events)).status).toBe(401);
      const sandboxToken = readFileSync(tokenPath, 'utf8').trim();
      expect((await fetch(events, { headers: { authorization: `Bearer ${sandboxToken}` } })).status).toBe(200);

      // The Web UI's own backend lists the payment's workflow, found by its order id.
      await expect
        .poll(
          async () => {
            const query = encodeURIComponent(`OrderId = "${String(request.orderId)}"`);
            const res = await fetch(`http://127.0.0.1:${ports.ui}/api/v1/namespaces/default/workflows?query=${query}`);
            const body = (await res.json()) as { executions?: { execution?: { workflowId?: string } }[] };
            return body.executions?.map((e) => e.execution?.workflowId);
          },
          { timeout: 15_000, interval: 300 },
        )
        .toEqual([payment.paymentId]);

      // A second start while the first runs reuses its servers instead of failing on taken ports.
      const second = startDevSystem(ports.secondApi);
      await untilUp(second);
      expect(second.output()).toContain('Temporal: reusing the server already running');
      expect(second.output()).toContain('MongoDB: reusing the server already running');
      const viaSecond = await new PlatformClient({
        baseUrl: `http://127.0.0.1:${ports.secondApi}`,
        ...loadDevPlatformKey(keysDir),
      }).getPayment(payment.paymentId);
      expect(viaSecond.paymentId).toBe(payment.paymentId);
      expect(await stop(second)).toBe(0);
      expect(await isPortOpen('127.0.0.1', ports.temporal)).toBe(true);
      expect(await isPortOpen('127.0.0.1', ports.mongodb)).toBe(true);

      // Ctrl-C stops every part the first start began.
      expect(await stop(first)).toBe(0);
      for (const port of [ports.api, ports.sandbox, ports.temporal, ports.ui, ports.mongodb]) {
        expect(await isPortOpen('127.0.0.1', port)).toBe(false);
      }

      const restarted = startDevSystem(ports.api);
      await untilUp(restarted);
      const read = await platform.send('GET', `/v1/payments/${payment.paymentId}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({
        paymentId: payment.paymentId,
        orderId: request.orderId,
        status: 'awaiting_payment',
      });

      const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
      try {
        const client = new Client({ connection });
        const history = await client.workflow.getHandle(payment.paymentId).fetchHistory();
        expect(history.events?.length).toBeGreaterThan(3);
        // The worker keeps its schedules: ledger seals, the sweep of expired API records, and the
        // recovery of workflows stuck on an update.
        // (Read raw: their arguments are encrypted, and this client has no codec.)
        for (const scheduleId of ['voucher-ledger', 'api-housekeeping', 'stuck-update-recovery', 'channel-probe']) {
          const described = await client.workflowService.describeSchedule({ namespace: 'default', scheduleId });
          expect(described.schedule?.action?.startWorkflow?.workflowType?.name).toMatch(/Workflow$/);
        }
      } finally {
        await connection.close();
      }
      expect(await stop(restarted)).toBe(0);
    },
  );
});
