/**
 * The upgrade check on a team's own Istio YAML: Istio's behaviour changes named by its own
 * compatibility profile, each reverted alone and rendered by lab/istiod (real Istio). The YAML in
 * test/upgrade/mirror-and-pool is written to be touched by exactly two of the four changes the
 * pinned Istio lists since 1.27; the check must name those two, and no other.
 */
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/paths.js';
import { backendsUnderTest } from '../support/backends.js';
import type { ConfigChanges } from '../../src/upgrade/config-changes.js';
import type { ScenarioChanges } from '../../src/upgrade/scenario-changes.js';
import type { EnvoyChanges } from '../../src/upgrade/envoy-changes.js';
import { acceptedFlags, unacceptedEnvoyChanges } from '../../src/upgrade/accept.js';

const run = (...args: string[]) => execa('node', ['--import', 'tsx', 'src/cli/upgrade-check.ts', ...args], { cwd: REPO_ROOT, reject: false });
/** Config only: these tests are about what is rendered; the traffic test below runs the labs. */
const runConfig = (...args: string[]) => run(...args, '--no-traffic');

describe('npm run upgrade-check: what each behaviour change does to your config', () => {
  it('names exactly the two changes that touch the YAML, with the facts they change', async () => {
    const r = await runConfig('--from', 'compat-1.27', '--istio-yaml', join(REPO_ROOT, 'test/upgrade/mirror-and-pool'), '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ConfigChanges;
    const changed = result.effects.filter((e) => e.changes.length).map((e) => e.change.flag).sort();
    expect(changed).toEqual(['DISABLE_SHADOW_HOST_SUFFIX', 'DISABLE_TRACK_REMAINING_CB_METRICS']);
    expect(result.effects.map((e) => e.change.flag).sort()).toEqual(['DISABLE_SHADOW_HOST_SUFFIX', 'DISABLE_TRACK_REMAINING_CB_METRICS', 'PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE', 'PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY']);
    const shadow = result.effects.find((e) => e.change.flag === 'DISABLE_SHADOW_HOST_SUFFIX')!;
    expect(shadow.changes.map((c) => `${c.before} → ${c.after}`)).toContain('outbound|8080||reports-shadow.test (Host-shadow) → outbound|8080||reports-shadow.test (Host unchanged)');
    const gauges = result.effects.find((e) => e.change.flag === 'DISABLE_TRACK_REMAINING_CB_METRICS')!;
    expect(gauges.changes.some((c) => c.what === 'cluster outbound|8080||reports.test circuit_breakers track_remaining' && c.before === 'true' && c.after === 'false')).toBe(true);
  });

  it('says which profiles there are for one the Istio does not have, exit 2', async () => {
    const r = await runConfig('--from', 'compat-1.19', '--istio-yaml', join(REPO_ROOT, 'test/upgrade/mirror-and-pool'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no compatibility profile 1\.19[\s\S]*fix: one of: compat-1\.25/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('says a --from that is neither a profile nor an Istio build is bad input, exit 2', async () => {
    const r = await runConfig('--from', '1.29.0', '--istio-yaml', join(REPO_ROOT, 'test/upgrade/mirror-and-pool'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--from "1\.29\.0" is neither a compatibility profile nor an Istio build[\s\S]*fix: compat-1\.29/);
  });
});

describe('npm run upgrade-check --from another Istio build', () => {
  it("renders the older build itself, and puts what differs on the newer build's flags the older one does not know", async () => {
    // The two builds .ci/setup makes: the pinned one, and a newer one from the 1.31 release candidate.
    const r = await runConfig('--from', 'pinned', '--to', 'v0.0.0-20260827124520-eed52ebb66ad', '--istio-yaml', join(REPO_ROOT, 'test/upgrade/mirror-and-pool'), '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ConfigChanges;
    expect(result.effects.map((e) => `${e.change.flag} ${e.changes.length}`).sort()).toEqual(['PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS 2', 'PILOT_ENABLE_STRICT_GATEWAY_MERGING 0']);
    expect(result.fromBuild?.all.map((c) => `${c.what}: ${c.before} → ${c.after}`)).toEqual([
      'cluster outbound|8080||reports-shadow.test healthy_panic_threshold: 50 → 0',
      'cluster outbound|8080||reports.test healthy_panic_threshold: 50 → 0',
    ]);
    expect(result.fromBuild?.behindNoFlag).toEqual([]);
  });

  it('says when a profile sets a flag the new build no longer reads, instead of calling it no effect on the YAML', async () => {
    const r = await runConfig('--from', 'compat-1.30', '--to', 'v0.0.0-20260827124520-eed52ebb66ad', '--istio-yaml', join(REPO_ROOT, 'test/upgrade/mirror-and-pool'), '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ConfigChanges;
    expect(result.effects.filter((e) => !e.read).map((e) => e.change.flag)).toEqual(['PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY']);
  });
});

for (const backend of await backendsUnderTest()) describe.skipIf(!!backend.unavailable)(`[${backend.kind}] npm run upgrade-check with traffic: what each change does to calls through your config`, () => {
  it('names exactly the two changes that alter calls as "changes your traffic", the third as config only, and gates on --accept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'efl-accept-'));
    const accept = join(dir, 'accepted.yaml');
    await writeFile(accept, '- DISABLE_SHADOW_HOST_SUFFIX   # our shadow copy ignores Host\n');
    try {
      const r = await run('--from', 'compat-1.27', '--istio-yaml', join(REPO_ROOT, 'test/upgrade/two-traffic-changes'), '--accept', accept, '--backend', backend.kind, '--json');
      expect(r.exitCode, r.stderr).toBe(1);
      const result = JSON.parse(r.stdout) as ConfigChanges & { unaccepted: string[] };
      const verdicts = Object.fromEntries(result.effects.map((e) => [e.change.flag, e.traffic?.verdict ?? (e.changes.length ? 'not run' : 'no effect')]));
      expect(verdicts).toEqual({
        DISABLE_SHADOW_HOST_SUFFIX: 'changes your traffic',
        PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE: 'changes your traffic',
        DISABLE_TRACK_REMAINING_CB_METRICS: 'config only',
        PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY: 'no effect',
      });
      expect(result.unaccepted).toEqual(['PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE']);
      const lines = (flag: string) => result.effects.find((e) => e.change.flag === flag)!.traffic!.differences.map((d) => `${d.what}: ${d.before} → ${d.after}`);
      // The old behaviour: payments' ledger (198.18.0.41) answers; the new: sandbox's 2023 copy (198.18.0.42).
      expect(lines('PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE')).toEqual([
        expect.stringMatching(/^call ledger\.local\.test:8080: 200 from ep-\d+ → 200 from ep-\d+$/),
        expect.stringMatching(/^ep-\d+ \(198\.18\.0\.41\) received: requests with Host ledger\.local\.test:8080 → nothing$/),
        expect.stringMatching(/^ep-\d+ \(198\.18\.0\.42\) received: nothing → requests with Host ledger\.local\.test:8080$/),
      ]);
      // The mirror target: the copy's Host loses Envoy's "-shadow" suffix.
      expect(lines('DISABLE_SHADOW_HOST_SUFFIX')).toEqual([expect.stringMatching(/^ep-\d+ \(198\.18\.0\.32\) received: requests with Host reports-shadow\.test:8080, reports\.test-shadow:8080 → requests with Host reports-shadow\.test:8080, reports\.test:8080$/)]);
      expect(result.effects.find((e) => e.change.flag === 'DISABLE_TRACK_REMAINING_CB_METRICS')!.traffic!.differences).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run upgrade-check over scenarios: do our incidents and their fixes behave the same after the upgrade?', () => {
  it("runs each phase whose Istio YAML a change alters, on both sides, and names the change whose verdicts differ", async () => {
    const r = await run('--from', 'compat-1.27', '--scenario', 'mirror-host-suffix', '--json');
    expect(r.exitCode, r.stderr).toBe(1);
    const result = JSON.parse(r.stdout) as ScenarioChanges & { unaccepted: string[] };
    const line = (flag: string) => result.effects.find((e) => e.change.flag === flag)!.phases.map((p) => `${p.phase}: ${p.traffic?.before} → ${p.traffic?.after} (${p.traffic?.verdict})`);
    // With the suffix back (the old behaviour) the before's symptom is gone, and the port fix's
    // "still without the suffix" no longer holds: both verdicts change.
    expect(line('DISABLE_SHADOW_HOST_SUFFIX')).toEqual(['before-host-unchanged: fail → pass (changes your traffic)', 'fix-mirror-port: fail → pass (changes your traffic)']);
    // Every cluster's circuit-breaker gauges change; no verdict does.
    expect(line('DISABLE_TRACK_REMAINING_CB_METRICS')).toEqual(['before-host-unchanged: pass → pass (config only)', 'fix-mirror-port: pass → pass (config only)']);
    expect(result.effects.find((e) => e.change.flag === 'PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE')!.phases).toEqual([]);
    expect(result.unaccepted).toEqual(['DISABLE_SHADOW_HOST_SUFFIX']);
  });
});

for (const backend of await backendsUnderTest()) describe.skipIf(!!backend.unavailable)(`[${backend.kind}] npm run upgrade-check through an Envoy upgrade: every phase on both Envoys`, () => {
  it('names the phase whose verdict the new Envoy changes, and passes the gate once it is accepted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'efl-accept-'));
    try {
      const r = await run('--from', 'envoy-1.36.4', '--to', 'envoy-1.40.0', '--scenario', 'grpc-trailers-oghttp2', '--backend', backend.kind, '--json');
      expect(r.exitCode, r.stderr).toBe(1);
      const result = JSON.parse(r.stdout) as EnvoyChanges & { unaccepted: string[] };
      // Envoy 1.36's default HTTP/2 codec (oghttp2) loses the trailers; 1.37 went back to nghttp2.
      expect(result.changed.map((c) => `${c.id}: ${c.from.word} → ${c.to.word}`)).toEqual(['grpc-trailers-oghttp2/before-default-codec: reproduced → gone']);
      expect(result.same).toBe(2);
      expect(result.unaccepted).toEqual(['grpc-trailers-oghttp2/before-default-codec']);
      // The same verdicts read back from the run's own record, with the gate now satisfied.
      const accept = join(dir, 'accepted.yaml');
      await writeFile(accept, '- grpc-trailers-oghttp2/before-default-codec   # gone on 1.37+, as we want\n');
      expect(unacceptedEnvoyChanges(result, await acceptedFlags(accept))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run upgrade-check: an Envoy upgrade names Envoy on both sides', () => {
  it('refuses an Envoy on one side and an Istio on the other, exit 2', async () => {
    const r = await run('--from', 'compat-1.27', '--to', 'envoy-1.40.0');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--to envoy-1\.40\.0 is an Envoy release, --from compat-1\.27 is not/);
  });
});
