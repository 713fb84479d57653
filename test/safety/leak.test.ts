/**
 * The safety rule, proven on the run that just happened: while every other test ran (the scenario
 * suite on both backends, the Istio mode, validation from an empty cache), tcpdump on this
 * machine's own interfaces saw no packet to or from 198.18.0.0/15 and no DNS query for a lab name.
 * Runs last (vitest project "leak", groupOrder 1). Fails with the packets it saw.
 */
import { readdir } from 'node:fs/promises';
import { expect, inject, it } from 'vitest';
import { VALIDATED_DIR } from '../../src/paths.js';
import { labNames, leaksIn, stopHostCapture } from '../../src/safety/host-capture.js';

it('no lab packet and no lab DNS query left the lab during the whole suite (capture on the host interfaces, from an empty validation cache)', async (ctx) => {
  const watch = inject('leakWatch');
  if (!watch.capture) {
    if (process.env.CI && process.env.LEAK_WATCH !== '0') throw new Error(`CI requires the leak watch, and it did not run: ${watch.off}`);
    return ctx.skip(`UNKNOWN: no capture (${watch.off})`);
  }
  const stats = await stopHostCapture(watch.capture);
  const validated = (await readdir(VALIDATED_DIR).catch(() => [])).length;
  const { leaks, packets } = await leaksIn(watch.capture.dir, await labNames());
  const summary = `tcpdump on ${Object.entries(stats).map(([i, n]) => `${i} (${n ?? '?'} packets kept by "net 198.18.0.0/15 or port 53")`).join(', ')} since ${watch.capture.startedAt}; ${validated} config(s) validated from the empty cache; ${packets} packet(s) read back; ${leaks.length} leak(s)`;
  console.log(`leak watch: ${summary}`);
  // Evidence that it watched: every tcpdump ran to its own end and wrote its totals.
  expect(Object.values(stats).every((n) => n !== undefined), `a tcpdump died before the end: ${summary}`).toBe(true);
  if (!validated) return ctx.skip(`UNKNOWN: nothing was validated under the capture, so the run proves nothing about validation (${summary})`);
  expect(leaks.map((l) => `${l.interface}: ${l.why}: ${l.line}`), summary).toEqual([]);
}, 120_000);
