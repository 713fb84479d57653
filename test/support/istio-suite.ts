/**
 * Istio mode (--istio), on one backend (test/scenarios/istio-<backend>.test.ts; the twin files run
 * side by side through the machine's scheduler, istio-drift.test.ts beside them): istiod
 * (lab/istiod, real Istio code) runs on its own lab host and serves each phase's Istio YAML to the
 * sidecar over ADS; live phases push by changing the YAML. Every scenario with Istio YAML must give
 * its verdicts on what Istio generated, or say plainly that this Istio renders the seed's objects
 * differently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendKind } from '../../src/backends/backend.js';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { istioYamlPath } from '../../src/istio/istio-variant.js';
import { pinnedIstio } from '../../src/istio/istiod-binary.js';
import { ENVOY_CONFIGS_DIR, RUNS_DIR } from '../../src/paths.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { runPhase, type PhaseResult, type PhaseStatus } from '../../src/scenario/run-phase.js';
import { verdictLines } from '../../src/report/verdict-text.js';
import { phaseLoadKey } from '../../src/scheduler/phase-load.js';
import { runScheduled } from '../../src/scheduler/run-scheduled.js';
import { backendsUnderTest } from './backends.js';
import { loadEvidence } from '../../src/evidence/store.js';
import { isSignature, type Signature } from '../../src/triage/signature.js';
import { bestMatches } from '../../src/triage/triage.js';
import { marksOf, readRun, triageRun } from './triage-run.js';

/** Every scenario that has its Istio objects (envoy-configs/<id>/istio/). */
export const CORE = scenarioIds().filter((id) => existsSync(join(ENVOY_CONFIGS_DIR, id, 'istio')));
/** A newer Istio than lab/istiod pins (.ci/setup builds it too): the first with ALLOW_ANY_DYNAMIC_DNS. */
export const NEWER_ISTIO = 'v0.0.0-20260827124520-eed52ebb66ad';
const scenarios = await Promise.all(CORE.map(loadScenario));

/**
 * What real Istio does with the seeds' objects, where it is not "the verdict holds" (measured on
 * the Istio lab/istiod pins):
 * - catch-all-cert before: the seed's TLS ServiceEntry without addresses gets an SNI chain of its
 *   own, and unknown SNI goes to PassthroughCluster: no catch-all, no wrong certificate (its
 *   protocol TCP form still makes the catch-all: phase before-protocol-tcp). The phase declares
 *   it (documented, goneOnIstio): GONE, with the applied object's SNI chain as the trigger.
 * - catch-all-cert bad-duplicate-catchall pushes a hand-written variant with no Istio YAML.
 * - outlier-ejects-all before: its documented 503 UH is gone on the Envoy the lab runs, on what
 *   Istio generates as on the hand-written config (GONE, with the trigger shown applied).
 */
const EXPECTED: Record<string, PhaseStatus> = {
  // Pushes a new chain without touching the listener: istiod always changes virtualInbound's
  // http_inspector port list for a new port, so this control has no Istio form.
  'config-push-drains-connections/control-new-chain-only': 'not-applicable',
  'catch-all-cert/before': 'gone',
  'catch-all-cert/bad-duplicate-catchall': 'not-applicable',
  'outlier-ejects-all/before': 'gone',
  // Envoy 1.40's default codec is nghttp2: the documented loss is gone (it shows on 1.36).
  'grpc-trailers-oghttp2/before-default-codec': 'gone',
  // Their old behaviours' flags (EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY, ENABLE_INBOUND_RETRY_POLICY,
  // VERIFY_CERTIFICATE_AT_CLIENT) are gone from every Istio built here: no istiod brings them back, the hand-written variants
  // alone show them.
  'retry-503-dropped/fix-old-behaviour': 'not-applicable',
  'inbound-retry-reconnects/fix-old-behaviour': 'not-applicable',
  'origination-cert-verify/fix-old-behaviour': 'not-applicable',
};
const expected = (scenario: string, phase: { name: string; config: string; istioObjects?: string; requiresIstio?: unknown }, version?: string): PhaseStatus =>
  !existsSync(istioYamlPath(scenario, phase.istioObjects ?? phase.config)) || (phase.requiresIstio && !version) ? 'not-applicable' : (EXPECTED[`${scenario}/${phase.name}`] ?? 'pass');

/** Each phase run under --istio: the pinned Istio for every phase; the newer one for what needs it (and the incident it fixes). */
const key = (r: { scenario: { id: string }; phase: { name: string }; version?: string }) => `${r.scenario.id}/${r.phase.name}${r.version ? `@${r.version}` : ''}`;
const runs = scenarios
  .flatMap((scenario) => [
    ...scenario.phases.filter((p) => p.kind !== 'measure').map((phase) => ({ scenario, phase, version: undefined as string | undefined })),
    ...scenario.phases.filter((p) => p.requiresIstio).flatMap((fix) => [scenario.phases.find((p) => p.kind === 'before')!, fix].map((phase) => ({ scenario, phase, version: NEWER_ISTIO as string | undefined }))),
  ])
  // A before that needs the newer Istio itself comes once, not once per phase that needs it.
  .filter((r, i, all) => all.findIndex((x) => key(x) === key(r)) === i);

export async function defineIstioSuite(kind: BackendKind): Promise<void> {
  const backend = (await backendsUnderTest()).find((b) => b.kind === kind) ?? { kind, unavailable: `LAB_BACKENDS=${process.env.LAB_BACKENDS} leaves ${kind} out` };
  describe.skipIf(!!backend.unavailable)(`[${backend.kind}] --istio: the core scenarios on the config istiod serves over ADS`, () => {
    let envoy: EnvoyBinary;
    const results = new Map<string, PhaseResult>();
    const dir = (id: string) => `${RUNS_DIR}/istio-test-${backend.kind}/${id}`;

    let pinned: string;
    beforeAll(async () => {
      envoy = await ensureEnvoy();
      pinned = await pinnedIstio();
      // The measure phase (keepalive-race natural) is left out: a sweep, not a verdict on the config.
      // As the machine's scheduler packs them, beside the other test files' runs.
      const scheduled = runs.map((run) => ({ run, backend: backend.kind, scenario: run.scenario.id, phase: phaseLoadKey(run.phase.name, { istio: true }), load: run.phase.load }));
      await runScheduled(scheduled, undefined, async ({ run }, schedule) => {
        const r = await runPhase(run.scenario, run.phase, { envoy, backend: backend.kind, artifactsDir: `${dir(run.scenario.id)}/${run.phase.name}${run.version ? '-newer-istio' : ''}`, istio: run.version ?? true, teardownInBackground: schedule.background });
        console.log(`[${backend.kind} --istio] ${key(run)}: ${r.status.toUpperCase()}${r.reason ? ` (${r.reason.split('\n')[0]})` : ''}`);
        results.set(key(run), r);
      });
    }, 3_600_000);

    for (const run of runs) {
      const { scenario, phase, version } = run;
      const want = expected(scenario.id, phase, version);
      it(`${scenario.id} › ${phase.name}${version ? ` (Istio ${version})` : ''}: ${want.toUpperCase()}`, () => {
        const r = results.get(key(run))!;
        expect(r.status, [r.reason, r.error, ...verdictLines(r)].filter(Boolean).join('\n')).toBe(want);
        if (want === 'not-applicable') return expect(r.reason).toMatch(/^--istio: /);
        const artifacts = `${dir(scenario.id)}/${phase.name}${version ? '-newer-istio' : ''}`;
        // The sidecar got its config from istiod over ADS, and stayed connected (where the phase
        // itself ends the sidecar, shutdown-sidecar-first, there are no stats after: connected when ready).
        // Istio's own pilot-agent wrote the bootstrap (Istio's template: xDS through its own socket).
        const bootstrap = readFileSync(`${artifacts}/envoy/bootstrap.json`, 'utf8');
        expect(bootstrap).toContain('ads_config');
        expect(bootstrap).toContain('/etc/istio/proxy/XDS'); // pilot-agent's xDS proxy socket, under its configPath
        expect(readFileSync(`${artifacts}/istiod/status.log`, 'utf8')).toMatch(new RegExp(`^0 serving ADS on \\S+ \\(Istio ${version ?? pinned}\\)`));
        const endsTheSidecar = readFileSync(`${artifacts}/timeline.jsonl`, 'utf8').includes('"sidecar exited"');
        const stats = JSON.parse(readFileSync(`${artifacts}/${endsTheSidecar ? 'stats-before' : 'stats-after'}.json`, 'utf8'));
        expect(stats['control_plane.connected_state']).toBe(1);
        if (want === 'fail') expect(r.reason).toMatch(/renders envoy-configs\/.*differently: the documented symptom did not arise/);
        // A live phase's change came as an istiod push of the fix's Istio YAML.
        if (phase.kind === 'live') expect(readFileSync(`${artifacts}/istiod/status.log`, 'utf8')).toMatch(/^1 applied: created \[/m);
      });
    }

    // Triage on what the run left under the config istiod generated (Envoy's and pilot-agent's log
    // among it): a before that reproduced names its scenario first, with every mark it declares,
    // pilot-agent's included; a fix that worked does not match it.
    for (const scenario of scenarios.filter((s) => s.phases.some((p) => p.kind === 'before' && isSignature(p.signature)))) {
      it(`${scenario.id}: triage names it first from its --istio before's evidence, and not from its fixes'`, async (ctx) => {
        const everyScenario = await Promise.all(scenarioIds().map(loadScenario));
        const lines: string[] = [];
        const reproduced = scenario.phases.filter((p) => p.kind === 'before' && isSignature(p.signature) && results.get(key({ scenario, phase: p }))?.status === 'pass');
        // A before that is GONE on this Istio (declared) has no incident to name.
        if (reproduced.length === 0) ctx.skip('no before with a signature reproduced under --istio (gone on this Istio, as declared)');
        for (const p of reproduced) {
          const at = `${dir(scenario.id)}/${p.name}`;
          const e = await loadEvidence(at);
          const seen = marksOf(readRun(e, at));
          const missing = ((p.signature as Signature).marks ?? []).filter((m) => !seen.has(m));
          const best = bestMatches(triageRun(e, at, everyScenario)).map((c) => c.scenario);
          lines.push(`${p.name}: best ${best.join(', ') || 'none'}; marks in the run ${[...seen].join(', ') || 'none'}`);
          expect(missing, `${lines.join('\n')}\ndeclared but not in the run: ${missing.join(', ')}`).toEqual([]);
          expect(best, lines.join('\n')).toContain(scenario.id);
        }
        for (const p of scenario.phases.filter((x) => x.kind === 'fix' && results.get(key({ scenario, phase: x }))?.status === 'pass')) {
          const at = `${dir(scenario.id)}/${p.name}`;
          const named = triageRun(await loadEvidence(at), at, everyScenario).candidates.filter((c) => c.isMatch).map((c) => c.scenario);
          lines.push(`${p.name} (fix): matches ${named.join(', ') || 'none'}`);
          expect(named, lines.join('\n')).not.toContain(scenario.id);
        }
        console.log(`[${backend.kind} --istio] ${scenario.id} › triage:\n  ${lines.join('\n  ')}`);
      });
    }
  });
}
