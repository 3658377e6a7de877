import type { Payload, WorkflowInterceptorsFactory } from '@temporalio/workflow';

/**
 * The header that carries the id of the API request that started a workflow (src/temporal/
 * request-id-header.ts) on to every activity the workflow schedules, so the activity's log lines
 * name the request that caused them. A header, not an input: histories recorded without it replay
 * unchanged.
 */
export const REQUEST_ID_HEADER = 'kp-request-id';

/** Interceptor module bundled with the workflows: passes the start's request id to activities. */
export const interceptors: WorkflowInterceptorsFactory = () => {
  let requestId: Payload | undefined;
  const withRequestId = <T extends { headers: Record<string, Payload> }>(input: T): T =>
    requestId === undefined ? input : { ...input, headers: { ...input.headers, [REQUEST_ID_HEADER]: requestId } };
  return {
    inbound: [
      {
        execute(input, next) {
          requestId = input.headers[REQUEST_ID_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next(withRequestId(input)),
        scheduleLocalActivity: (input, next) => next(withRequestId(input)),
      },
    ],
  };
};
