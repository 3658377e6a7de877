import type { WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import { currentLogContext } from '../logger.js';
import { REQUEST_ID_HEADER } from '../../workflows/request-id-interceptors.js';

/** `headers` with the current request's id added (src/logger.ts), when a request is running. */
function withRequestId(headers: Headers): Headers {
  const requestId = currentLogContext()?.requestId;
  return requestId === undefined
    ? headers
    : { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) };
}

/**
 * Puts the id of the API request that starts a workflow into the start's headers; the workflow
 * passes it to its activities (workflows/request-id-interceptors.ts), whose log lines carry it.
 */
export const requestIdClientInterceptor: WorkflowClientInterceptor = {
  startWithDetails: (input, next) => next({ ...input, headers: withRequestId(input.headers) }),
  signalWithStart: (input, next) => next({ ...input, headers: withRequestId(input.headers) }),
  startUpdateWithStart: (input, next) =>
    next({ ...input, workflowStartHeaders: withRequestId(input.workflowStartHeaders) }),
};

/** The request id an activity's headers carry, if any. */
export function requestIdIn(headers: Headers): string | undefined {
  const payload = headers[REQUEST_ID_HEADER];
  if (payload === undefined) return undefined;
  const value: unknown = defaultPayloadConverter.fromPayload(payload);
  return typeof value === 'string' ? value : undefined;
}
