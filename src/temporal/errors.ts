import { WorkflowNotFoundError } from '@temporalio/client';

/**
 * True when a message to a workflow failed because its run has already closed (or never
 * existed): the caller then answers from the read model instead.
 */
export function isWorkflowClosedError(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const message = err instanceof Error ? err.message : '';
  return /workflow execution already completed|not found/i.test(message);
}
