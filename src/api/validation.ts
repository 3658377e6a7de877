import type { z } from 'zod';
import { ApiError, type ApiErrorCode } from './errors.js';

/**
 * Parses `input` with `schema`, or throws a 422 naming the first offending field in `param`
 * (dotted path, e.g. `items.0.unitAmount`).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  let param = path.join('.') || undefined;
  let code: ApiErrorCode = 'invalid_parameter';
  if (issue?.code === 'unrecognized_keys') {
    param = [...path, ...issue.keys.slice(0, 1)].join('.');
    code = 'unknown_parameter';
  } else if (issue?.code === 'invalid_type' && path.length > 0 && valueAt(input, path) === undefined) {
    code = 'missing_parameter';
  }
  const message = param ? `${param}: ${issue?.message ?? 'invalid'}` : (issue?.message ?? 'invalid request');
  throw new ApiError(422, 'validation_error', code, message, param);
}

/** The value at a dotted path of the request body, or undefined where there is none. */
function valueAt(input: unknown, path: readonly string[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
