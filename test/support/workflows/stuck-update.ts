import {
  allHandlersFinished,
  condition,
  defineSignal,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

export const pokeUpdate = defineUpdate<string>('poke');
export const breakSignal = defineSignal('break');

/**
 * Reproduces what the SDK's update replay fault leaves in a history: an update accepted in one
 * workflow task and never completed, then every workflow task failing with the fault's message.
 * A run started by a reset (its run id is not the first one's) applies the update and ends.
 */
export async function stuckUpdateWorkflow(): Promise<string> {
  let broken = false;
  let released = false;
  setHandler(pokeUpdate, async () => {
    await condition(() => released);
    return 'applied';
  });
  setHandler(breakSignal, () => {
    broken = true;
  });
  await condition(() => broken);
  const info = workflowInfo();
  if (info.runId === info.firstExecutionRunId) {
    throw new Error(
      'BadUpdateWorkflowExecutionMessage: ProtocolMessageCommand referenced absent message ID (simulated)',
    );
  }
  released = true;
  await condition(allHandlersFinished);
  return 'recovered';
}

/**
 * The fault's other face: the update was accepted and completed, then every workflow task fails
 * with the update machine's nondeterminism error naming an event after the acceptance. A run
 * started by a reset ends.
 */
export async function updateMachineFaultWorkflow(): Promise<string> {
  let broken = false;
  let pokes = 0;
  setHandler(pokeUpdate, () => {
    pokes += 1;
    return 'applied';
  });
  setHandler(breakSignal, () => {
    broken = true;
  });
  await condition(() => broken);
  const info = workflowInfo();
  if (info.runId === info.firstExecutionRunId) {
    throw new Error(
      `[TMPRL1100] Nondeterminism error: Update machine does not handle this event: HistoryEvent(id: ${info.historyLength - 1}, ActivityTaskScheduled) (simulated)`,
    );
  }
  return `recovered after ${pokes} poke(s)`;
}

/** A workflow whose task fails for another reason: left alone. */
export function otherFailureWorkflow(): Promise<string> {
  throw new Error('a bug in workflow code');
}
