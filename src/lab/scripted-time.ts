/**
 * The scenario's own time, not lab overhead: its waits (sleep, waitFor) and its traffic (a call
 * that waits out a delayed close, a probe waiting for the peer's close). Overlapping ones
 * (traffic started without await during a sleep) count once.
 */
export class ScriptedTime {
  private inFlight = 0;
  private since = 0;

  /** Adds to `timings.scriptedMs`. */
  constructor(private readonly timings: { scriptedMs: number }) {}

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.inFlight++ === 0) this.since = Date.now();
    try {
      return await call();
    } finally {
      if (--this.inFlight === 0) this.timings.scriptedMs += Date.now() - this.since;
    }
  }
}
