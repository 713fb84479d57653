/**
 * passthrough-memory: the sidecar's memory grows slowly and never comes back.
 *
 * Reported  seed 001 §8 (../shared/seeds/001_1893f8f80347ef09.txt, Passthrough内存增高);
 *           envoyproxy/envoy#22218, fixed by envoyproxy/envoy#22371 (2022).
 * Symptom   On pods whose SDK calls a host outside the mesh now and then (the seed: eureka),
 *           the sidecar's memory creeps up and is never released. Calling every 30 s leaks;
 *           calling every 1 s, or never, does not.
 * Cause     PassthroughCluster (ORIGINAL_DST) keeps a host per destination and sweeps the unused
 *           ones every cleanup_interval (5 s); a destination called less often than that is
 *           swept and created again on each call, and the sweep leaked the hosts' connection pools.
 * Fix       The seed's EnvoyFilter: cleanup_interval 1h on PassthroughCluster (no sweep between
 *           calls); upstream, envoy#22371.
 *
 * The load: each cycle the app calls the passthrough host on 40 ports (40 destinations, one
 * short connection each), then pauses. Envoy's own allocator count (admin /memory, "allocated") is
 * sampled after every cycle; growth per cycle after a warm-up tells a leak from noise.
 * Time scaling: cleanup_interval 5 s → 0.5 s; the seed's 30 s call period → 1.2 s, its 1 s → 0.1 s.
 */
import { check, configShapes, counterGrew, counterShapes, defineScenario, everyRequest, isOk, type Check, type Evidence, type Lab } from '../src/index.js';

const PORTS = Array.from({ length: 40 }, (_, i) => 8761 + i);
const CYCLES = 24;
const WARMUP_CYCLES = 8;
/** Longer than the (scaled) cleanup interval: every cycle's hosts are swept before the next. */
const SLOW_GAP_MS = 1200;
/** Shorter than it: the hosts are always in use when the sweep comes. */
const FAST_GAP_MS = 100;
/** Growth per cycle above which memory is leaking: 40 swept hosts a cycle at ≥ 100 bytes each. */
const LEAK_BYTES_PER_CYCLE = PORTS.length * 100;
const MEMORY = "Envoy's allocated bytes (/memory)";
const HOSTS = 'cluster.PassthroughCluster.membership_total';

/** The SDK's polling: CYCLES rounds of one call to each of the 40 destinations, `gapMs` apart. */
const pollPassthrough = (gapMs: number) => async (lab: Lab) => {
  for (let c = 0; c < CYCLES; c++) {
    for (const port of PORTS) await lab.app.send({ url: `http://${lab.ip('eureka')}:${port}/eureka/apps`, headers: [], label: `GET eureka:${port}` });
    lab.note(MEMORY, String(await lab.sidecar.memory()), { quiet: true });
    lab.note(HOSTS, await lab.sidecar.stat(HOSTS), { quiet: true });
    await lab.sleep(gapMs);
  }
};

/** Least-squares slope of the memory samples after the warm-up, in bytes per cycle. */
function growthPerCycle(e: Evidence): { slope: number; text: string } {
  const all = e.noteSeries(MEMORY);
  const ys = all.slice(WARMUP_CYCLES);
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const slope = ys.reduce((a, y, x) => a + (x - mx) * (y - my), 0) / ys.reduce((a, _, x) => a + (x - mx) ** 2, 0);
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  return { slope, text: `${n} samples after ${WARMUP_CYCLES} warm-up cycles: ${kb(ys[0]!)} → ${kb(ys.at(-1)!)}, ${slope.toFixed(0)} bytes/cycle (a leak is ≥ ${LEAK_BYTES_PER_CYCLE})` };
}

const memoryGrows = (grows: boolean): Check =>
  check(grows ? `the seed's leak: Envoy's allocated memory grows ≥ ${LEAK_BYTES_PER_CYCLE} bytes per cycle` : `no leak: Envoy's allocated memory grows < ${LEAK_BYTES_PER_CYCLE} bytes per cycle`, (e) => {
    const g = growthPerCycle(e);
    return { pass: e.noteSeries(MEMORY).length >= CYCLES && (g.slope >= LEAK_BYTES_PER_CYCLE) === grows, evidence: g.text };
  });

const everyCallOk = everyRequest(`every passthrough call succeeded (${CYCLES} × ${PORTS.length})`, { min: CYCLES * PORTS.length }, isOk);

/** Hosts were swept between cycles and created again: each of them is a membership change every cycle. */
const sweptEveryCycle = check(`the sweep ran between cycles: all ${PORTS.length} hosts were created again every cycle (membership_change)`, (e) => {
  const changes = e.counter('cluster.PassthroughCluster.membership_change');
  const min = (CYCLES - 1) * PORTS.length;
  return { pass: changes >= min, evidence: `membership_change +${changes} over ${CYCLES} cycles (≥ ${min}: every host re-created after the first cycle)` };
});

/**
 * Calls every 0.1 s keep the hosts in use: at most a tenth of them re-created per cycle. (On a busy
 * machine a 40-call cycle can outlast the sweep interval, so a few are swept: measured 46-59
 * changes with four labs on two cores, against ≥ 920 when every host is swept.)
 */
const rarelySwept = check('the hosts stayed in use: fewer than a tenth of them re-created per cycle (membership_change)', (e) => {
  const changes = e.counter('cluster.PassthroughCluster.membership_change');
  const max = PORTS.length + (CYCLES * PORTS.length) / 10;
  return { pass: changes <= max, evidence: `membership_change +${changes} over ${CYCLES} cycles (≤ ${max}; every host swept each cycle would be ≥ ${(CYCLES - 1) * PORTS.length})` };
});

const neverSwept = check('the hosts stayed: no sweep removed them between cycles (membership_change ≤ the first additions)', (e) => {
  const changes = e.counter('cluster.PassthroughCluster.membership_change');
  const hosts = e.noteSeries(HOSTS);
  return { pass: changes <= PORTS.length && hosts.slice(1).every((h) => h >= PORTS.length), evidence: `membership_change +${changes}; hosts after each cycle: ${hosts.join(', ')}` };
});

export default defineScenario({
  id: 'passthrough-memory',
  title: "Periodic calls to a host outside the mesh: the sidecar's memory creeps up (PassthroughCluster cleanup leak)",
  seed: 'a write-up in Chinese of the xDS problems one team met in production (its sections are cited in reported)',
  reported: ['seed 001 §8: Passthrough内存增高', 'https://github.com/envoyproxy/envoy/issues/22218', 'https://github.com/envoyproxy/envoy/pull/22371'],
  symptom: "the sidecar's memory grows slowly and is never released on pods that call an outside host every 30 s",
  cause: 'PassthroughCluster sweeps unused hosts every cleanup_interval (5 s); the sweep leaked their connection pools',
  timeScaling: 'cleanup_interval 5 s → 0.5 s; call period 30 s → 1.2 s (and 1 s → 0.1 s)',
  world: {
    upstreams: [{ name: 'eureka', octet: 40, ports: PORTS }],
    dns: {},
  },
  phases: [
    {
      name: 'before',
      title: 'Calls every 1.2 s, cleanup every 0.5 s: the hosts are swept and created again each cycle',
      config: 'broken',
      // Every call succeeds: the documented leak is in memory (and gone on the Envoy versions measured). Its mark comes from the report's heap profile, which the lab's runs do not take.
      signature: { says: 'ORIGINAL_DST hosts held in memory by PassthroughCluster (periodic calls to hosts outside the mesh)', reported: [{ mark: 'originalDstHosts', source: "envoy#22218: the reporter's heap profile, OriginalDstCluster::LoadBalancer::chooseHost on top" }],
        // The precondition, in /stats: calls leave through PassthroughCluster (each new destination an ORIGINAL_DST host).
        counters: [counterShapes.counted(/^cluster\.PassthroughCluster\.upstream_cx_(?:total|active)$/, 'calls went out through PassthroughCluster (cluster.PassthroughCluster.upstream_cx_total / _active)')],
        config: [configShapes.passthroughSweepsHosts()],
      },
      run: pollPassthrough(SLOW_GAP_MS),
      expect: [everyCallOk, sweptEveryCycle, counterGrew('the calls went out through PassthroughCluster', 'cluster.PassthroughCluster.upstream_cx_total', CYCLES * PORTS.length)],
      documented: [
        {
          symptom: memoryGrows(true),
          // envoy#22371 (2022, Envoy 1.24) stopped the sweep from leaking pooled hosts.
          goneFrom: '1.24.0',
          trigger: [everyCallOk, sweptEveryCycle],
          why: 'envoy#22371 (Envoy 1.24): swept hosts no longer leak their connection pools',
        },
      ],
    },
    {
      name: 'control-frequent-calls',
      kind: 'measure',
      title: 'Calls every 0.1 s (the seed: every 1 s): the hosts are always in use, nothing is swept',
      config: 'broken',
      // Its verdict is a timing: a cycle over the 40 hosts must stay under the 0.5 s sweep. Beside
      // the suite's other labs the cycles stretched and 570 re-creations came in 24 cycles
      // (measured, both backends): it runs on a quiet machine.
      load: 'alone',
      run: pollPassthrough(FAST_GAP_MS),
      expect: [everyCallOk, rarelySwept, memoryGrows(false)],
    },
    {
      name: 'fix-cleanup-interval',
      title: "The seed's EnvoyFilter: cleanup_interval 1h: calls every 1.2 s, the hosts are never swept",
      config: 'fix-cleanup-interval',
      run: pollPassthrough(SLOW_GAP_MS),
      expect: [everyCallOk, neverSwept, memoryGrows(false)],
    },
  ],
});
