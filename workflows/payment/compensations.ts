import { isCancellation, log } from '@temporalio/workflow';
import { describe } from '../failures.js';

interface Compensation {
  name: string;
  run(): Promise<void>;
}

/**
 * The saga's undo list: each step registers how to undo itself before it runs (an order may exist
 * even when opening it timed out), and {@link CompensationStack.unwind} undoes them newest first.
 * A compensation that fails is logged and noted, never swallowed, and the others still run.
 */
export class CompensationStack {
  private readonly steps: Compensation[] = [];

  constructor(private readonly note: (event: string, detail?: string) => void) {}

  push(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  /** Forgets every registered step: what they would undo is settled. */
  clear(): void {
    this.steps.length = 0;
  }

  get size(): number {
    return this.steps.length;
  }

  async unwind(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop() as Compensation;
      this.note('compensation.started', step.name);
      try {
        await step.run();
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('compensation failed', { step: step.name, error: describe(err) });
        this.note('compensation.failed', `${step.name}: ${describe(err)}`);
      }
    }
  }
}
