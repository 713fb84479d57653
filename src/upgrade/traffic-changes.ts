/**
 * What a behaviour change does to a team's calls: the "to" render and the render with the change
 * reverted, each run in a lab with the real Envoy and probed the same way (traffic-probe.ts), the
 * calls compared. A difference is confirmed by probing the "to" render a second time: what differs
 * between two runs of the same config is the load balancer's chance, never blamed on the change.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendKind } from '../backends/backend.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { observationDiff, planProbe, probeVariant, runProbe, type ProbeObservations, type ProbePlan } from './traffic-probe.js';

export interface TrafficOptions {
  envoy: EnvoyBinary;
  backend?: BackendKind;
  /** Where each probe's lab keeps its evidence. */
  artifactsDir: string;
  progress?: (line: string) => void;
}

export interface TrafficEffect {
  /** changes: some call or delivery differs; none: the calls are the same; unknown: a probe could not run, or there was nothing to call. */
  verdict: 'changes your traffic' | 'config only' | 'unknown';
  /** Each call or endpoint whose observation differs: the old behaviour → the new one. */
  differences: Array<{ what: string; before: string; after: string }>;
  /** Observations that differed between two runs of the same config: not compared. */
  unstable: string[];
  /** What was called, and what the probe left out. */
  called: string[];
  left: string[];
  /** The probes' evidence: the old behaviour's lab, and the new one's. */
  evidence: { before: string; after: string };
  reason?: string;
}

export class TrafficComparison {
  private probes = 0;

  constructor(
    private readonly now: object,
    private readonly o: TrafficOptions,
  ) {}

  /** The "to" render against `old` (one change reverted, named by `label`). */
  async against(old: object, label: string): Promise<TrafficEffect> {
    const plan = planProbe([this.now, old]);
    const called = plan.targets.map((t) => `${t.host}:${t.port}`);
    const base = { called, left: plan.left, differences: [], unstable: [] };
    if (!plan.targets.length) return { ...base, verdict: 'unknown', evidence: { before: '', after: '' }, reason: 'no HTTP service routed on a port listener: nothing to call' };
    this.o.progress?.(`traffic with ${label} (the old behaviour) and without it: ${called.length} service(s), ${plan.upstreams.length} endpoint(s), a lab each`);
    const before = await this.probe(old, plan, `old-${label.split('=')[0]}`);
    const after = await this.probe(this.now, plan, `new-for-${label.split('=')[0]}`);
    const evidence = { before: before.dir, after: after.dir };
    const failed = [before, after].find((p) => !p.observations);
    if (failed) return { ...base, verdict: 'unknown', evidence, reason: `the probe's lab failed: ${failed.error} (its evidence: ${failed.dir})` };
    let differences = observationDiff(before.observations!, after.observations!);
    let unstable: string[] = [];
    if (differences.length) {
      const again = await this.probe(this.now, plan, `new-again-for-${label.split('=')[0]}`);
      if (!again.observations) return { ...base, verdict: 'unknown', evidence, reason: `the probe's lab failed: ${again.error} (its evidence: ${again.dir})` };
      unstable = observationDiff(after.observations!, again.observations).map((d) => d.what);
      differences = differences.filter((d) => !unstable.includes(d.what));
    }
    return { ...base, verdict: differences.length ? 'changes your traffic' : 'config only', differences, unstable, evidence };
  }

  private async probe(dump: object, plan: ProbePlan, name: string): Promise<{ observations?: ProbeObservations; error?: string; dir: string }> {
    const dir = join(this.o.artifactsDir, `${String(++this.probes).padStart(2, '0')}-${name}`);
    await mkdir(dir, { recursive: true });
    const variant = await probeVariant(dump, plan, join(dir, 'probe.yaml'));
    const { observations, result } = await runProbe(plan, variant, { envoy: this.o.envoy, backend: this.o.backend, artifactsDir: dir });
    if (result.status === 'error' || result.status === 'unknown') return { error: result.error ?? result.reason ?? result.status, dir };
    return { observations, dir };
  }
}
