import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recoverStuckUpdates } from '../../src/temporal/stuck-updates.js';
import { breakSignal, pokeUpdate } from '../support/workflows/stuck-update.js';

/**
 * The recovery of workflows stuck on the SDK's update replay fault, on the real Temporal server:
 * a workflow with an accepted, never-completed update whose tasks fail with the fault's message is
 * reset to before the update, and the new run applies it; a task failing for another reason is
 * left to people.
 */
let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `stuck-${randomUUID()}`;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: new URL('../support/workflows/stuck-update.ts', import.meta.url).pathname,
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
});

/** Waits until the workflow's task has failed (its retries in flight after it). */
async function failingTask(workflowId: string) {
  await expect
    .poll(
      async () => {
        const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
        return (events ?? []).some((e) => e.workflowTaskFailedEventAttributes);
      },
      { timeout: 30_000 },
    )
    .toBe(true);
}

/** Runs the recovery until it resets the workflow (once its task has failed a few times in a row). */
async function resetByRecovery(workflowId: string) {
  let recovered: Awaited<ReturnType<typeof recoverStuckUpdates>> = { checked: 0, reset: [], failed: [] };
  await expect
    .poll(
      async () => {
        recovered = await recoverStuckUpdates(client, 'test');
        return recovered.reset.map((r) => r.workflowId);
      },
      { timeout: 60_000, interval: 1_000 },
    )
    .toContain(workflowId);
  return recovered.reset.find((r) => r.workflowId === workflowId)!;
}

describe('recovering workflows stuck on an update', () => {
  it('resets a workflow whose tasks fail on an accepted update to before it, and the new run applies the update', async () => {
    const workflowId = `stuck-${randomUUID()}`;
    const handle = await client.workflow.start('stuckUpdateWorkflow', { workflowId, taskQueue });
    const update = await handle.startUpdate(pokeUpdate, { waitForStage: 'ACCEPTED', updateId: `poke-${workflowId}` });
    await handle.signal(breakSignal);
    await failingTask(workflowId);
    const firstRunId = (await handle.describe()).runId;
    // Once the task has failed a few times in a row.
    const reset = await resetByRecovery(workflowId);
    expect(reset.fromRunId).toBe(firstRunId);
    expect(reset.toRunId).not.toBe(firstRunId);
    expect(await client.workflow.getHandle(workflowId).result()).toBe('recovered');
    const { events = [] } = await client.workflow.getHandle(workflowId, reset.toRunId).fetchHistory();
    const completed = events?.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes) ?? [];
    expect(completed.map((e) => e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId)).toEqual([
      update.updateId,
    ]);
    // A second pass finds nothing left to do.
    expect((await recoverStuckUpdates(client, 'test')).reset.map((r) => r.workflowId)).not.toContain(workflowId);
  });

  it('resets a workflow whose tasks fail on the update machine’s nondeterminism error to before the event it names', async () => {
    const workflowId = `machine-${randomUUID()}`;
    const handle = await client.workflow.start('updateMachineFaultWorkflow', { workflowId, taskQueue });
    expect(await handle.executeUpdate(pokeUpdate, { updateId: `poke-${workflowId}` })).toBe('applied');
    await handle.signal(breakSignal);
    await failingTask(workflowId);
    const firstRunId = (await handle.describe()).runId;
    const reset = await resetByRecovery(workflowId);
    expect(reset.fromRunId).toBe(firstRunId);
    // The new run goes on from before the named event: the break signal is re-applied, and it ends.
    expect(await client.workflow.getHandle(workflowId).result()).toMatch(/^recovered after [01] poke/);
    expect((await recoverStuckUpdates(client, 'test')).reset.map((r) => r.workflowId)).not.toContain(workflowId);
  });

  it('leaves a workflow whose task fails for another reason', async () => {
    const workflowId = `other-${randomUUID()}`;
    await client.workflow.start('otherFailureWorkflow', { workflowId, taskQueue });
    await failingTask(workflowId);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const recovered = await recoverStuckUpdates(client, 'test');
    expect(recovered.reset.map((r) => r.workflowId)).not.toContain(workflowId);
    await client.workflow.getHandle(workflowId).terminate('test done');
  });
});
