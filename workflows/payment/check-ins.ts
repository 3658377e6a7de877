/** The first time the saga asks the channel on its own, after the channel order opened. */
export const FIRST_CHECK_IN_MS = 60_000;
/** The longest wait between two check-ins: the wait doubles up to this. */
export const LONGEST_CHECK_IN_GAP_MS = 60 * 60_000;
/** No check-in this close to the window's end: the end asks the channel anyway. */
export const CHECK_IN_END_MARGIN_MS = 30_000;

/**
 * When, counted from the channel order's opening, the saga asks the channel whether the learner
 * has paid while the window is still open: 1, 3, 7, 15, 31, 63 minutes, then hourly, never in
 * the window's last 30 seconds (a 15-minute window: 1, 3 and 7; a day-long one: 28). A notification the channel could not deliver (the API down, a
 * refusal, a resend scheduled an hour later) then costs the learner a minute or a few, not the
 * whole window; channel guides ask merchants to query for exactly this. A payment decided sooner
 * never reaches its first check-in.
 */
export function checkInOffsets(windowMs: number): number[] {
  const offsets: number[] = [];
  let gap = FIRST_CHECK_IN_MS;
  for (let at = gap; at <= windowMs - CHECK_IN_END_MARGIN_MS; at += gap) {
    offsets.push(at);
    gap = Math.min(gap * 2, LONGEST_CHECK_IN_GAP_MS);
  }
  return offsets;
}
