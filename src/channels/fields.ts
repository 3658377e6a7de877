/**
 * Reading the loosely typed JSON and form fields providers send: one copy for every adapter and
 * simulator.
 */

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A member that is a non-empty string; `undefined` for anything else (absent, empty, another type). */
export function stringField(source: Readonly<Record<string, unknown>> | undefined, name: string): string | undefined {
  const value = source?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Cuts text to `max` characters (code points, as the providers count them) without splitting a
 * surrogate pair.
 */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max).join('');
}
