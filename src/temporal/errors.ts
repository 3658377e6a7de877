import { WorkflowNotFoundError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';

/**
 * True when a message to a workflow failed because its run has already closed (or never
 * existed): the caller then answers from the read model instead.
 */
export function isWorkflowClosedError(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const message = err instanceof Error ? err.message : '';
  return /workflow execution already completed|not found/i.test(message);
}

/** gRPC status codes of a Temporal call that did not happen in time or at all: worth a retry. */
const TRANSIENT_CODES = new Set([
  1, // CANCELLED
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  14, // UNAVAILABLE
]);

/**
 * True when a call to Temporal failed for a reason that passes by itself: the server or the
 * workers are busy, restarting or unreachable (a query no worker answered in time, an update the
 * server refused while the workflow's task is being retried). The caller may retry the request.
 */
export function isTemporalTransientError(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  for (let cause: unknown = err, depth = 0; cause instanceof Error && depth < 4; depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'number' && TRANSIENT_CODES.has(code)) return true;
    if (/workflow task in failed state/i.test(cause.message)) return true;
    cause = cause.cause;
  }
  return false;
}
