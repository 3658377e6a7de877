import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { PaymentErrorCode } from '../domain/errors.js';

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

/**
 * Refuses a message that is not one object. A payload that was not encrypted with the product's
 * codec decodes to nothing (src/temporal/codec.ts), so this is also where such a message stops.
 */
export function requireMessage(args: unknown, shape: string): void {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw refusal(
      'message_malformed' satisfies PaymentErrorCode,
      `give ${shape}, encrypted with the product's codec (the Web UI needs the codec server)`,
    );
  }
}
