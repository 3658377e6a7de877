import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { PROJECT_ROOT } from '../../src/worker/workflow-bundle.js';

/** A workflow history as committed: protobuf-encoded, base64, so it replays exactly. */
export interface RecordedHistory {
  workflowId: string;
  historyBase64: string;
}

export function decodeHistory(record: RecordedHistory) {
  return proto.temporal.api.history.v1.History.decode(Buffer.from(record.historyBase64, 'base64'));
}

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
  const encoded = proto.temporal.api.history.v1.History.encode(history).finish();
  const record: RecordedHistory = { workflowId, historyBase64: Buffer.from(encoded).toString('base64') };
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`);
}
