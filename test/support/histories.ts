import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';

export const HISTORIES_DIR = join(PROJECT_ROOT, 'test/replay/histories');

/**
 * With `RECORD_HISTORIES=1` (`npm run histories:record`), saves a finished workflow's history as
 * `test/replay/histories/<name>.json`, for the replay test that guards determinism. Otherwise
 * does nothing.
 */
export async function recordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const handle = client.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined);
  const history = await handle.fetchHistory();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
}
