/**
 * Where a lab's own time goes, step by step (bench prints the medians): each mark records the
 * time since the previous one under its name, so steps that overlap (agents start while other
 * hosts are still being made) count only what they add, and the steps add up to the whole.
 */
export class StepClock {
  private last = Date.now();

  constructor(readonly steps: Record<string, number> = {}) {}

  mark(step: string): void {
    const now = Date.now();
    this.steps[step] = (this.steps[step] ?? 0) + (now - this.last);
    this.last = now;
  }

  /** Time from here on belongs to no step (the scenario's own script, a wait for the machine). */
  skip(): void {
    this.last = Date.now();
  }
}
