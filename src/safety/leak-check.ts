/**
 * The leak check (`npm run lab -- leak-check`): proves the safety rule on this machine for what
 * the lab runs outside a lab. Every variant is validated by Envoy from an empty validation cache
 * (and with `istio`, every Istio YAML rendered by lab/istiod) while tcpdump watches the host's own
 * interfaces; any packet to or from 198.18.0.0/15, or a DNS query for a lab name, is a leak.
 */
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { configsDir } from '../envoy/configs-dir.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { renderScenarioIstio } from '../lab/control-plane/istiod-run.js';
import { VALIDATED_DIR } from '../paths.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { validateVariantFile } from '../scenario/validate-variant.js';
import { CAPTURE_FILTER, labNames, leaksIn, startHostCapture, stopHostCapture, type CaptureStats, type Leak } from './host-capture.js';

export interface LeakCheckResult {
  /** Configs validated or rendered under the capture. */
  done: number;
  /** Packets tcpdump kept, per interface. */
  kept: CaptureStats;
  /** Packets read back from the capture files, and the leaks among them. */
  packets: number;
  leaks: Leak[];
  filter: string;
  captureDir: string;
  /** What stopped the validations early, if anything: the capture is judged all the same. */
  failure?: unknown;
}

export async function leakCheck(o: { envoy: EnvoyBinary; istio: boolean; captureDir: string; progress: (line: string) => void }): Promise<LeakCheckResult> {
  await rm(VALIDATED_DIR, { recursive: true, force: true });
  const capture = await startHostCapture(o.captureDir);
  o.progress(`tcpdump on ${capture.tcpdumps.map((t) => t.interface).join(', ')}; validation cache emptied`);
  let done = 0;
  let failure: unknown;
  try {
    for (const id of scenarioIds()) {
      const dir = configsDir(id);
      if (!existsSync(dir)) continue;
      for (const f of (await readdir(dir)).filter((f) => f.endsWith('.yaml') && !f.startsWith('imported-'))) {
        await validateVariantFile(o.envoy, join(dir, f));
        done++;
      }
      if (o.istio && existsSync(join(dir, 'istio'))) {
        for (const f of (await readdir(join(dir, 'istio'))).filter((f) => f.endsWith('.yaml') && !f.includes('mesh') && f !== 'known-drift.yaml')) {
          await renderScenarioIstio(await loadScenario(id), join(dir, 'istio', f), o.progress);
          done++;
        }
      }
      o.progress(`  ${id}: done (${done} so far)`);
    }
  } catch (err) {
    failure = err;
  }
  const kept = await stopHostCapture(capture);
  const { leaks, packets } = await leaksIn(capture.dir, await labNames());
  return { done, kept, packets, leaks, filter: CAPTURE_FILTER, captureDir: capture.dir, ...(failure === undefined ? {} : { failure }) };
}
