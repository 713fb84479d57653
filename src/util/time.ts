/** Small time helpers; the lab never sleeps where it can wait for an event instead. */
import { setTimeout as delay } from 'node:timers/promises';
import { LabError } from '../errors.js';

export { delay };

/**
 * Polls `probe` every `everyMs` until it returns a truthy value or `timeoutMs` passes. A probe that
 * throws a LabError (e.g. "Envoy rejected the update") ends the wait at once with that error.
 */
export async function waitUntil<T>(
  probe: () => T | Promise<T>,
  { timeoutMs, everyMs = 25, what }: { timeoutMs: number; everyMs?: number; what: string },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      if (err instanceof LabError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await delay(everyMs);
  }
}

/** A wait ran out of time: the lab did not reach the state a step needed. */
export class WaitTimeoutError extends LabError {}

/** Seconds with one decimal, for human-readable evidence. */
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Waits for `p`, at most `ms`; the timer goes with it, so a CLI exits as soon as its work is done
 * instead of when a forgotten timer fires (measured: 2.8 s after every scenario run).
 */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}
