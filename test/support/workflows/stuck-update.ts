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

/** A workflow whose task fails for another reason: left alone. */
export function otherFailureWorkflow(): Promise<string> {
  throw new Error('a bug in workflow code');
}
