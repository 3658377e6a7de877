import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';
import type { TestStack } from './stack.js';

export interface WorkerProcess {
  child: ChildProcess;
  /** Settles once the worker polls its task queue; rejects with what it printed if it exits first. */
  polling: Promise<void>;
}

/**
 * A worker process of its own (`src/worker/main.ts`, as `npm start` runs it) wired to `stack`'s
 * Temporal, MongoDB, task queue and sandbox, with the keyring in `keysDir`. `env` adds to or
 * overrides its environment; `onOutput` receives everything it printed so far at each write.
 */
export function spawnWorkerProcess(
  stack: TestStack,
  keysDir: string,
  env: Record<string, string> = {},
  onOutput: (output: string) => void = () => undefined,
): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/worker/main.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: stack.config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
      MONGODB_URI: stack.config.MONGODB_URI,
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      PUBLIC_BASE_URL: stack.baseUrl,
      SANDBOX_URL: stack.config.SANDBOX_URL,
      KEYS_DIR: keysDir,
      SANDBOX_ENABLED: 'true',
      KP_PARENT_PID: String(process.pid),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const polling = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      onOutput(output);
      if (output.includes('worker polling task queue')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before polling:\n${output}`)));
  });
  return { child, polling };
}
