import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import type { MongoMemoryServer as MongoMemoryServerClass } from 'mongodb-memory-server-core';
import mongoose from 'mongoose';
import { withTimeout } from '../with-timeout.js';
import { PROJECT_ROOT } from '../worker/workflow-bundle.js';
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
import { findPostgres, startPostgres } from './postgres.js';
import type { ProvisionSettings } from './settings.js';

export interface ProvisionedMongo {
  /** Server URI without a database name; callers append their own. */
  uri: string;
  source: string;
  stop(): Promise<void>;
  /** The server process, when this run started one as a child. */
  process?: ManagedProcess;
  /** The PostgreSQL cluster folder under FerretDB, when FerretDB stores there (tests read its statistics). */
  postgresDataDir?: string;
  /** Every process of the server this run started (FerretDB and its PostgreSQL): the chaos run kills them all. */
  processes?: ManagedProcess[];
}

/** Every server started here listens on loopback only, and none asks for credentials. */
const HOST = '127.0.0.1';
const NO_AUTH = 'loopback only, no authentication: a local development server, not a production setup';
const FERRETDB_SOURCE = join(PROJECT_ROOT, 'src/provision/ferretdb');

async function mongoAnswers(uri: string, pingTimeoutMs = 2_000): Promise<void> {
  const connection = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 2_000 });
  try {
    await withTimeout(connection.asPromise(), 3_000, 'MongoDB connect');
    await withTimeout(connection.db!.command({ ping: 1 }), pingTimeoutMs, 'MongoDB ping');
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** How often the watchdog pings FerretDB, how many pings in a row may go unanswered, how long each may take (a loaded server answers slowly, not never). */
export const FERRETDB_WATCHDOG = { everyMs: 10_000, misses: 3, pingTimeoutMs: 8_000 } as const;

/**
 * FerretDB v1.24 over PostgreSQL can stop answering for good while PostgreSQL sits idle: every
 * connection of its pool taken and never given back (seen after a storm of crashes in the chaos
 * run: 400 requests waiting for a pool connection, PostgreSQL's 50 backends idle). FerretDB keeps
 * nothing of its own (the data is in PostgreSQL), so one that is still running but has answered no
 * ping for {@link FERRETDB_WATCHDOG} `misses` checks in a row is started again on the same port;
 * clients reconnect by themselves. A FerretDB that exited (stopped or killed by its owner) is left
 * to its owner, and the watch ends.
 */
export function watchFerretDb(
  uri: string,
  current: () => ManagedProcess,
  restart: () => Promise<void>,
  options: { everyMs: number; misses: number; pingTimeoutMs: number } = FERRETDB_WATCHDOG,
): { stop(): void } {
  let missed = 0;
  let busy = false;
  const alive = (server: ManagedProcess) => server.child.exitCode === null && server.child.signalCode === null;
  const timer = setInterval(() => {
    if (busy) return;
    const server = current();
    if (!alive(server)) {
      clearInterval(timer);
      return;
    }
    busy = true;
    void mongoAnswers(uri, options.pingTimeoutMs)
      .then(
        () => {
          missed = 0;
        },
        async (err: unknown) => {
          missed += 1;
          if (missed < options.misses || !alive(server)) return;
          say(
            `MongoDB: FerretDB (pid ${server.child.pid}) answered no ping for ${(missed * options.everyMs) / 1000} s (${(err as Error).message}); starting it again (log ${server.logFile})`,
          );
          missed = 0;
          await restart().catch((restartErr: unknown) =>
            say(`MongoDB: could not start FerretDB again: ${(restartErr as Error).message}`),
          );
        },
      )
      .finally(() => {
        busy = false;
      });
  }, options.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Gives the payment system a MongoDB-wire server, choosing in this order and logging the choice:
 * 1. `MONGODB_URI` if set (nothing is started);
 * 2. a server already answering on the profile's port (reused, not stopped by us);
 * 3. a `mongod` on PATH;
 * 4. on connected machines, mongodb-memory-server's downloaded mongod;
 * 5. FerretDB v1.24, built once from the Go module proxy by the embedding
 *    program in `src/provision/ferretdb` and cached, storing in PostgreSQL when it is installed
 *    (see postgres.ts), else in SQLite.
 */
export async function provisionMongo(settings: ProvisionSettings): Promise<ProvisionedMongo> {
  const timeoutMs = settings.startupTimeoutMs;
  if (settings.mongodbUri) {
    const uri = settings.mongodbUri;
    say('MongoDB: using MONGODB_URI (nothing started)');
    await waitUntilReady('MongoDB at MONGODB_URI', () => mongoAnswers(uri), {
      timeoutMs,
      hint: 'Check MONGODB_URI, or unset it to let the project start a server.',
    });
    return { uri, source: 'MONGODB_URI', stop: () => Promise.resolve() };
  }

  const uri = `mongodb://${HOST}:${settings.mongodbPort}`;
  if (await isPortOpen(HOST, settings.mongodbPort)) {
    await mongoAnswers(uri).catch((err: unknown) => {
      throw new Error(
        `port ${settings.mongodbPort} is taken by something that is not a MongoDB-wire server (${(err as Error).message}). ` +
          'Stop it, or set MONGODB_PORT to a free port.',
      );
    });
    say(`MongoDB: reusing the server already running at ${uri} (it will be left running)`);
    return { uri, source: 'already running', stop: () => Promise.resolve() };
  }

  const waitFor = async (what: string, abort: Promise<never>, logFile: string) =>
    withProgress(`MongoDB: waiting for ${what}`, () =>
      waitUntilReady(`${what} at ${uri}`, () => mongoAnswers(uri), {
        timeoutMs,
        hint: `See ${logFile}; raise STARTUP_TIMEOUT_SECONDS on a slow machine.`,
        abort,
      }),
    );

  const mongod = onPath('mongod');
  if (mongod) {
    const dbPath = join(settings.dataDir, 'mongod');
    if (!settings.persistent) rmSync(dbPath, { recursive: true, force: true });
    mkdirSync(dbPath, { recursive: true, mode: 0o700 });
    const logFile = join(settings.dataDir, 'logs', 'mongod.log');
    say(`MongoDB: starting mongod from PATH (${mongod}), data ${dbPath}, ${NO_AUTH}; log ${logFile}`);
    const server = startProcess(
      'mongod',
      mongod,
      ['--dbpath', dbPath, '--port', String(settings.mongodbPort), '--bind_ip', HOST],
      { logFile },
    );
    await waitFor('mongod', server.exited, logFile);
    return {
      uri,
      source: `mongod on PATH (${mongod}); ${NO_AUTH}`,
      stop: () => server.stop(),
      process: server,
      processes: [server],
    };
  }

  // mongodb-memory-server runs its mongod where this process cannot kill it on its own.
  const memory = settings.killable ? undefined : await tryMemoryServer(settings);
  if (memory) return memory;

  const binary = await buildFerretDb(settings);
  const logFile = join(settings.dataDir, 'logs', 'ferretdb.log');
  const postgres = settings.ferretdbBackend === 'sqlite' ? undefined : findPostgres();
  if (settings.ferretdbBackend === 'postgresql' && !postgres) {
    throw new Error(
      'FERRETDB_BACKEND=postgresql, but no usable PostgreSQL was found (see above); install it or unset FERRETDB_BACKEND.',
    );
  }
  if (postgres) {
    // PostgreSQL takes concurrent writers where SQLite takes one at a time: several times the
    // payments per second in the benchmark (docs/operations.md).
    const cluster = await startPostgres(settings, postgres);
    // FerretDB v1.24's embeddable package offers no authentication (its SCRAM support is internal
    // and experimental): the loopback address is the only gate, so it must never listen elsewhere.
    say(`MongoDB: starting FerretDB v1.24 over PostgreSQL (${cluster.dataDir}), ${NO_AUTH}; log ${logFile}`);
    const start = () =>
      startProcess('ferretdb', binary, ['-listen', `${HOST}:${settings.mongodbPort}`, '-postgresql-url', cluster.url], {
        logFile,
      });
    let server = start();
    await waitFor('FerretDB', server.exited, logFile).catch(async (err: unknown) => {
      await cluster.process.stop();
      throw err;
    });
    const watchdog = watchFerretDb(
      uri,
      () => server,
      async () => {
        await server.stop(2_000);
        server = start();
      },
    );
    return {
      uri,
      source: `FerretDB v1.24.2 embedded over PostgreSQL (${binary}); ${NO_AUTH}`,
      postgresDataDir: cluster.dataDir,
      stop: async () => {
        watchdog.stop();
        await server.stop();
        await cluster.process.stop();
      },
      // Getters: the watchdog may have started FerretDB again since.
      get process() {
        return server;
      },
      get processes() {
        return [server, cluster.process];
      },
    };
  }

  const dataDir = join(settings.dataDir, 'ferretdb');
  if (!settings.persistent) rmSync(dataDir, { recursive: true, force: true });
  say(`MongoDB: starting FerretDB v1.24 over SQLite (${dataDir}), ${NO_AUTH}; log ${logFile}`);
  const server = startProcess('ferretdb', binary, ['-listen', `${HOST}:${settings.mongodbPort}`, '-dir', dataDir], {
    logFile,
  });
  await waitFor('FerretDB', server.exited, logFile);
  return {
    uri,
    source: `FerretDB v1.24.2 embedded over SQLite (${binary}); ${NO_AUTH}`,
    stop: () => server.stop(),
    process: server,
    processes: [server],
  };
}

/**
 * mongodb-memory-server, on machines that have its binary cached or can download one. Offline
 * machines skip it after a quick DNS check instead of waiting for a download to time out.
 */
async function tryMemoryServer(settings: ProvisionSettings): Promise<ProvisionedMongo | undefined> {
  let MongoMemoryServer: typeof MongoMemoryServerClass;
  try {
    ({ MongoMemoryServer } = await import('mongodb-memory-server-core'));
  } catch {
    say('MongoDB: mongodb-memory-server is not installed; skipping it');
    return undefined;
  }
  const downloadHost = 'fastdl.mongodb.org';
  const reachable = await withTimeout(lookup(downloadHost), 3_000, 'DNS lookup').then(
    () => true,
    () => false,
  );
  if (!process.env.MONGOMS_SYSTEM_BINARY && !reachable) {
    say(
      `MongoDB: no mongod on PATH and ${downloadHost} is unreachable (offline), so mongodb-memory-server cannot download one`,
    );
    return undefined;
  }
  const dbPath = join(settings.dataDir, 'mongodb-memory');
  mkdirSync(dbPath, { recursive: true, mode: 0o700 });
  try {
    const server = await withProgress('MongoDB: starting mongodb-memory-server (downloads mongod once)', () =>
      MongoMemoryServer.create({
        instance: { ip: HOST, port: settings.mongodbPort, dbPath, storageEngine: 'wiredTiger' },
      }),
    );
    return {
      uri: `mongodb://${HOST}:${settings.mongodbPort}`,
      source: `mongodb-memory-server; ${NO_AUTH}`,
      stop: async () => {
        await server.stop({ doCleanup: false });
      },
    };
  } catch (err) {
    say(`MongoDB: mongodb-memory-server failed (${(err as Error).message}); falling back to FerretDB`);
    return undefined;
  }
}

/** Builds in progress in this process, by binary path: two servers provisioned at once share one build. */
const builds = new Map<string, Promise<string>>();

/** Builds the FerretDB embedding program once per source change; the binary is cached by hash. */
function buildFerretDb(settings: ProvisionSettings): Promise<string> {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(FERRETDB_SOURCE, file)));
  const binary = join(settings.cacheDir, 'bin', `ferretdb-${hash.digest('hex').slice(0, 12)}`);
  let build = builds.get(binary);
  if (!build) {
    build = buildFerretDbBinary(binary, settings).finally(() => builds.delete(binary));
    builds.set(binary, build);
  }
  return build;
}

async function buildFerretDbBinary(binary: string, settings: ProvisionSettings): Promise<string> {
  if (existsSync(binary)) {
    say(`MongoDB: FerretDB binary cached at ${binary}`);
    return binary;
  }
  const go = onPath('go');
  if (!go) {
    throw new Error(
      'no MongoDB-wire server could be provisioned: no mongod on PATH, no internet for mongodb-memory-server, and no Go toolchain ' +
        'to build FerretDB. Install Go 1.24+ (or mongod), or set MONGODB_URI to a running server.',
    );
  }
  const logFile = join(settings.cacheDir, 'logs', 'ferretdb-build.log');
  const partial = `${binary}.${process.pid}.partial`;
  await withProgress(
    `MongoDB: building FerretDB v1.24.2 with ${go} from the Go module proxy (first run only; a minute or more; log ${logFile})`,
    () =>
      runToCompletion('go build', go, ['build', '-trimpath', '-o', partial, '.'], {
        logFile,
        cwd: FERRETDB_SOURCE,
        env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      }),
  );
  // Another process building at the same time renames the same bytes over it: never half a binary.
  renameSync(partial, binary);
  return binary;
}
