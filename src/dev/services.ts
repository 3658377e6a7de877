import { join } from 'node:path';
import { startProcess, waitUntilReady, type ManagedProcess } from '../provision/processes.js';
import { PROJECT_ROOT } from '../worker/workflow-bundle.js';

/** Starts a service entry point (`src/api/main.ts`, `src/worker/main.ts`) as a child process. */
export function startService(name: string, entry: string, env: NodeJS.ProcessEnv, logFile?: string): ManagedProcess {
  return startProcess(name, process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, entry)], {
    env: { ...env, KP_PARENT_PID: String(process.pid) },
    ...(logFile ? { logFile } : {}),
  });
}

/** Waits until `GET <apiUrl>/readyz` answers 200, or a child dies, or the timeout passes. */
export function waitForApi(apiUrl: string, children: ManagedProcess[], timeoutMs: number): Promise<void> {
  return waitUntilReady(
    `API at ${apiUrl}/readyz`,
    async () => {
      const res = await fetch(`${apiUrl}/readyz`);
      if (res.status !== 200) throw new Error(`readyz answered ${res.status}`);
    },
    { timeoutMs, hint: 'See the API and worker output.', abort: Promise.race(children.map((c) => c.exited)) },
  );
}

/** Waits until the sandbox process answers `GET <sandboxUrl>/readyz` with 200, or a child dies, or the timeout passes. */
export function waitForSandbox(sandboxUrl: string, children: ManagedProcess[], timeoutMs: number): Promise<void> {
  return waitUntilReady(
    `sandbox at ${sandboxUrl}/readyz`,
    async () => {
      const res = await fetch(`${sandboxUrl}/readyz`);
      if (res.status !== 200) throw new Error(`readyz answered ${res.status}`);
    },
    { timeoutMs, hint: 'See the sandbox output.', abort: Promise.race(children.map((c) => c.exited)) },
  );
}
