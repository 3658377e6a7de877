import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { PaymentErrorCode } from './contracts.js';

/** The words of a failure, from the activity's cause when there is one. */
export function describe(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The `ApplicationFailure.type` behind an activity failure, if any. */
export function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** A business refusal a workflow answers a message with; the API maps `code` to HTTP. */
export function refusal(code: PaymentErrorCode, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true });
}
