/**
 * "Alone" means a quiet machine, not only no other lab: the ledger keeps other phase runs out,
 * but the harness's own work (vitest workers transforming files as they start, a headless
 * Chromium, report writing) is not in it. Beside that work ratelimit-accuracy's caller offered
 * 112 requests/s instead of 200 and passthrough-memory's cycles outgrew the 0.5 s sweep (docker,
 * measured in the full suite). So a run that needs the machine alone, once the ledger has given it,
 * also waits until the CPU is mostly idle (from /proc/stat), for a bounded time.
 */
import { readFile } from 'node:fs/promises';

/** Idle share of all cores over a sample that counts as quiet. */
export const QUIET_IDLE = 0.75;
const SAMPLE_MS = 500;
const MAX_WAIT_MS = 60_000;

async function cpuTimes(): Promise<{ idle: number; total: number } | undefined> {
  const line = (await readFile('/proc/stat', 'utf8').catch(() => '')).split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 5 || f.some((n) => !Number.isFinite(n))) return undefined;
  return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
}

/** The idle share of the machine over the next `ms`; undefined where /proc/stat is not readable. */
export async function idleShare(ms = SAMPLE_MS): Promise<number | undefined> {
  const a = await cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = await cpuTimes();
  if (!a || !b || b.total <= a.total) return undefined;
  return (b.idle - a.idle) / (b.total - a.total);
}

/** Waits until a sample is quiet (or MAX_WAIT_MS passed); returns how long it waited and the last idle share. */
export async function untilQuiet(): Promise<{ waitedMs: number; idle?: number }> {
  const t0 = Date.now();
  let idle = await idleShare();
  while (idle !== undefined && idle < QUIET_IDLE && Date.now() - t0 < MAX_WAIT_MS) idle = await idleShare();
  return { waitedMs: Date.now() - t0, idle };
}
