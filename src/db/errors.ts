/** MongoDB's duplicate-key error (E11000): a unique index refused a second copy. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === 11000;
}
