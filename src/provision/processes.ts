import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { withPrivateUmask } from './private-files.js';

/** A line of provisioning progress, so a person starting the system sees each choice. */
export function say(message: string): void {
  console.log(`[provision] ${message}`);
}

/** A child process this tool started and therefore stops. */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Rejects as soon as the process exits, naming its log file. */
  exited: Promise<never>;
}

const running = new Set<ManagedProcess>();

/** The processes `startProcess` started in this process that are still running (the benchmark reads their CPU time). */
export function runningProcesses(): ManagedProcess[] {
  return [...running];
}

/**
 * Spawns `command` with its output appended to `logFile`, or shared with ours when there is none.
 * The child runs with a private umask and the log file is the owner's only (see private-files.ts).
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { logFile?: string; env?: NodeJS.ProcessEnv; cwd?: string },
): ManagedProcess {
  const { logFile } = options;
  const child = withPrivateUmask(() =>
    spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: logFile ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    }),
  );
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true, mode: 0o700 });
    const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const exit = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`${name} could not start (${command}): ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}); see ${logFile ?? 'the output above'}`)),
    );
  });
  exited.catch(() => undefined);
  const managed: ManagedProcess = {
    name,
    child,
    logFile: logFile ?? 'stdout',
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
  running.add(managed);
  void exit.then(() => running.delete(managed));
  return managed;
}

/** The path of `command` on PATH, or undefined when there is none. */
export function onPath(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `probe` until it resolves, the deadline passes (rejects with a message saying what to
 * do), or `abort` rejects (the process died).
 */
export async function waitUntilReady(
  what: string,
  probe: () => Promise<unknown>,
  options: { timeoutMs: number; hint: string; abort?: Promise<never> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  const poll = async () => {
    for (;;) {
      try {
        await probe();
        return;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        const reason = lastError instanceof Error ? lastError.message : String(lastError);
        throw new Error(
          `${what} was not ready within ${Math.round(options.timeoutMs / 1000)} s (${reason}). ${options.hint}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  await (options.abort ? Promise.race([poll(), options.abort]) : poll());
}

/** Runs `fn`, printing an elapsed-time line every `everyMs` so long steps show progress. */
export async function withProgress<T>(what: string, fn: () => Promise<T>, everyMs = 15_000): Promise<T> {
  const started = Date.now();
  const timer = setInterval(
    () => say(`${what}: still working (${Math.round((Date.now() - started) / 1000)} s)`),
    everyMs,
  );
  try {
    const result = await fn();
    say(`${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } finally {
    clearInterval(timer);
  }
}

/** Runs a command to completion with its output in `logFile`; rejects with the log path on failure. */
export async function runToCompletion(
  name: string,
  command: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<void> {
  const proc = startProcess(name, command, args, options);
  const code = await new Promise<number | null>((resolve, reject) => {
    proc.child.once('exit', (c) => resolve(c));
    proc.child.once('error', reject);
  });
  if (code !== 0) throw new Error(`${name} failed (exit ${code}); see ${options.logFile}`);
}
