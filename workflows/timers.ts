import { sleep } from '@temporalio/workflow';

/**
 * A timer left to run to its end, never cancelled (the `steady-timers` patch): the wait that uses
 * it ends on whatever comes first, and a firing after that is ignored. A cancel recorded by a
 * workflow task that was then lost meets the timer's firing on replay as an invalid transition in
 * the SDK's timer state machine, which would stick the workflow; a timer never cancelled cannot.
 * Answers whether the timer has fired.
 */
export function steadyTimer(ms: number, summary: string): () => boolean {
  let fired = false;
  void sleep(ms, { summary }).then(
    () => {
      fired = true;
    },
    () => undefined,
  );
  return () => fired;
}
