import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onPath, say, startProcess, waitUntilReady, type ManagedProcess } from './processes.js';
import type { ProvisionSettings } from './settings.js';

/** PostgreSQL refuses to run as root; a Debian install brings this unprivileged user. */
const UNPRIVILEGED_USER = 'postgres';

export interface PostgresPrograms {
  /** The folder holding `initdb` and `postgres`. */
  bin: string;
  /** Set when this process is root: the server runs as this user instead. */
  runAs: string | undefined;
}

/** A user's numeric ids, or undefined when there is no such user. */
function userIds(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * PostgreSQL's server programs: `initdb` on PATH, else the newest Debian install under
 * /usr/lib/postgresql/<version>/bin. Undefined (with the reason said) when there is none, or when
 * this process is root and there is no `postgres` user to run the server as.
 */
export function findPostgres(): PostgresPrograms | undefined {
  let bin: string | undefined;
  const onPathInitdb = onPath('initdb');
  if (onPathInitdb) bin = join(onPathInitdb, '..');
  else if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    bin = versions
      .map((v) => join('/usr/lib/postgresql', v, 'bin'))
      .find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
  }
  if (!bin) {
    say('MongoDB: no PostgreSQL installed (initdb); FerretDB will use SQLite');
    return undefined;
  }
  const root = process.getuid?.() === 0;
  if (root && !userIds(UNPRIVILEGED_USER)) {
    say(
      `MongoDB: PostgreSQL refuses to run as root and there is no "${UNPRIVILEGED_USER}" user; FerretDB will use SQLite`,
    );
    return undefined;
  }
  return { bin, runAs: root ? UNPRIVILEGED_USER : undefined };
}

/**
 * Where the cluster of `settings` lives: under the data folder, or, when the server runs as
 * another user (this process is root), in a folder of that user's under /var/tmp, since the data
 * folder is private to root. One per data folder and port.
 */
export function postgresDataDir(settings: ProvisionSettings, programs: Pick<PostgresPrograms, 'runAs'>): string {
  if (!programs.runAs) return join(settings.dataDir, 'postgresql');
  const key = createHash('sha256').update(`${settings.dataDir}:${settings.mongodbPort}`).digest('hex').slice(0, 12);
  return join('/var/tmp', 'knowledge-pay-postgresql', key);
}

/** The command line of `program`, as the unprivileged user when there is one (`setpriv` execs it: signals reach it). */
function asUser(programs: PostgresPrograms, program: string, args: string[]): [string, string[]] {
  // `bin` may hold links to a few of the programs only (initdb, postgres): the others sit beside
  // what they link to.
  const linked = join(programs.bin, program);
  const path = existsSync(linked) ? linked : join(dirname(realpathSync(join(programs.bin, 'initdb'))), program);
  if (!programs.runAs) return [path, args];
  const user = programs.runAs;
  return ['setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', path, ...args]];
}

/** The server listens on no TCP port at all: only on a Unix socket in its own cluster folder. */
const SOCKET_PORT = 5432;

/**
 * FerretDB 1.24 stores each collection as a table of `_jsonb` documents and finds a document by
 * `_id` with `_jsonb->'_id' @> $value`, which its own btree index on `_jsonb->'_id'` cannot serve:
 * every read by `_id` scans the whole table, so each payment costs more than the one before (a
 * read took 300 ms with 9,000 callbacks kept). A GIN `jsonb_path_ops` index on the same expression
 * serves `@>`: an event trigger adds one to every table FerretDB creates, and the block after it to
 * those created before. With custom plans for FerretDB's prepared statements (see the server's
 * `plan_cache_mode`), the planner sees the literal `'_id'` and uses it (0.06 ms for the same read).
 */
const ID_LOOKUP_INDEXES = `
CREATE OR REPLACE FUNCTION knowledge_pay_index_ids(relation regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = relation AND attname = '_jsonb' AND NOT attisdropped) THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L) jsonb_path_ops)',
      left((SELECT relname FROM pg_class WHERE oid = relation), 50) || '_id_lookup', relation, '_id');
  END IF;
END $$;
CREATE OR REPLACE FUNCTION knowledge_pay_index_new_tables() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE created record;
BEGIN
  FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
    PERFORM knowledge_pay_index_ids(created.objid::regclass);
  END LOOP;
END $$;
DROP EVENT TRIGGER IF EXISTS knowledge_pay_index_new_tables;
CREATE EVENT TRIGGER knowledge_pay_index_new_tables ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION knowledge_pay_index_new_tables();
DO $$
DECLARE existing record;
BEGIN
  FOR existing IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
    PERFORM knowledge_pay_index_ids(existing.oid::regclass);
  END LOOP;
END $$;
`;

/** Runs SQL in the cluster at `dataDir` with `psql` (as the server's user), quietly, stopping at the first error. */
export function runPsql(programs: PostgresPrograms, dataDir: string, sql: string, extraArgs: string[] = []) {
  const [command, args] = asUser(programs, 'psql', [
    ...extraArgs,
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    dataDir,
    '-p',
    String(SOCKET_PORT),
    '-U',
    'postgres',
    '-d',
    'postgres',
  ]);
  return spawnSync(command, args, { input: sql, encoding: 'utf8' });
}

/** Installs {@link ID_LOOKUP_INDEXES}, retrying while the server is still starting up or recovering after a crash. */
async function indexDocumentIds(programs: PostgresPrograms, dataDir: string, timeoutMs: number): Promise<void> {
  let last = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(250)) {
    const result = runPsql(programs, dataDir, ID_LOOKUP_INDEXES);
    if (result.status === 0) return;
    last = (result.stderr || result.stdout || String(result.error ?? '')).trim().slice(-300);
    if (result.error || !/starting up|not yet accepting connections|No such file|Connection refused/i.test(last)) break;
  }
  say(`MongoDB: could not add the _id lookup indexes to PostgreSQL (reads by _id will scan whole tables): ${last}`);
}

/**
 * A server of this cluster left running by a run that was killed (its children cannot outlive it
 * otherwise): stopped, since nothing else uses this private cluster, so that this run can start it.
 */
async function stopOrphan(dataDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!Number.isSafeInteger(pid) || pid <= 1 || !alive()) return;
  // Only a postgres server of this very cluster: a pid in an old file may belong to anything now.
  let commandLine: string[];
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return;
  }
  if (!commandLine[0]?.endsWith('postgres') || !commandLine.includes(dataDir)) return;
  say(`MongoDB: stopping PostgreSQL pid ${pid}, left running on ${dataDir} by an earlier run`);
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; alive() && waited < 10_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
  if (alive()) process.kill(pid, 'SIGKILL');
}

/**
 * A private PostgreSQL cluster for FerretDB: created with `initdb` on first use (wiped first when
 * the profile keeps no data), listening only on a Unix socket inside its own folder (no TCP port,
 * so nothing else on the network reaches it; trust authentication, as a local development server
 * like FerretDB itself), stopped with the run.
 */
export async function startPostgres(
  settings: ProvisionSettings,
  programs: PostgresPrograms,
): Promise<{ url: string; process: ManagedProcess; dataDir: string }> {
  const dataDir = postgresDataDir(settings, programs);
  const logFile = join(settings.dataDir, 'logs', 'postgresql.log');
  await stopOrphan(dataDir);
  if (!settings.persistent) rmSync(dataDir, { recursive: true, force: true });
  const owner = programs.runAs ? userIds(programs.runAs) : undefined;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (owner) {
      // The shared parent only lets the server's user pass through to its own 0700 folder. It
      // must be root's own real folder: one another user made (or a link) could redirect root.
      const parent = join(dataDir, '..');
      mkdirSync(parent, { recursive: true, mode: 0o711 });
      const stat = lstatSync(parent);
      if (!stat.isDirectory() || stat.uid !== 0) {
        throw new Error(
          `${parent} is not a folder of root's own (a link, or made by another user); remove it, or set FERRETDB_BACKEND=sqlite.`,
        );
      }
      chmodSync(parent, 0o711);
      const existing = lstatSync(dataDir, { throwIfNoEntry: false });
      if (existing && (!existing.isDirectory() || existing.isSymbolicLink())) {
        throw new Error(`${dataDir} is not a folder (a link?); remove it, or set FERRETDB_BACKEND=sqlite.`);
      }
    }
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (owner) chownSync(dataDir, owner.uid, owner.gid);
    const [command, args] = asUser(programs, 'initdb', [
      '-D',
      dataDir,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`initdb failed (exit ${result.status}): ${(result.stderr || result.stdout).slice(-500)}`);
    }
  }
  const [command, args] = asUser(programs, 'postgres', [
    '-D',
    dataDir,
    '-p',
    String(SOCKET_PORT),
    '-c',
    'listen_addresses=',
    '-c',
    `unix_socket_directories=${dataDir}`,
    // A plan per execution of FerretDB's prepared statements, so the field name it passes as a
    // parameter reaches the planner and the _id lookup index above can be used.
    '-c',
    'plan_cache_mode=force_custom_plan',
  ]);
  say(`MongoDB: starting PostgreSQL (${programs.bin}), cluster and Unix socket in ${dataDir}; log ${logFile}`);
  const server = startProcess('postgresql', command, args, { logFile });
  const socket = join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);
  await waitUntilReady(
    `PostgreSQL's socket ${socket}`,
    () => (existsSync(socket) ? Promise.resolve() : Promise.reject(new Error('no socket yet'))),
    { timeoutMs: settings.startupTimeoutMs, hint: `See ${logFile}.`, abort: server.exited },
  );
  await indexDocumentIds(programs, dataDir, settings.startupTimeoutMs);
  const url = `postgres://postgres@/postgres?host=${encodeURIComponent(dataDir)}&port=${SOCKET_PORT}`;
  return { url, process: server, dataDir };
}
