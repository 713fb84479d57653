/**
 * Runs one phase of a scenario in a fresh lab: sweep stale labs, validate the config, start the
 * lab, play the incident, collect the evidence, tear down, judge. Never retries.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { judge, type Verdict } from '../checks/check.js';
import { variantPath } from '../envoy/config.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { compareVersions } from '../envoy/version.js';
import { LabError } from '../errors.js';
import { Lab, type LabTimings } from '../lab.js';
import { assertVariantValid } from './validate-variant.js';
import { createBackend, type BackendKind } from '../topology/create-backend.js';
import { sweepStaleLabs } from '../topology/sweep.js';
import { upstreamsFor, type Phase, type Scenario } from './scenario.js';
import { pauseForPoking } from './keep.js';

export type PhaseStatus = 'pass' | 'fail' | 'unknown' | 'not-applicable' | 'error';

export interface PhaseResult {
  scenario: string;
  phase: string;
  kind: Phase['kind'];
  title: string;
  iteration: number;
  status: PhaseStatus;
  verdicts: Verdict[];
  error?: string;
  envoyVersion: string;
  backend: BackendKind;
  timings: LabTimings & { wallMs: number };
  /** "....x x x ^dns ..." */
  strip: string;
  artifactsDir: string;
}

/** Statuses that count as "behaved as documented". */
export const OK_STATUSES: PhaseStatus[] = ['pass', 'not-applicable'];

export interface RunPhaseOptions {
  envoy: EnvoyBinary;
  artifactsDir: string;
  iteration?: number;
  log?: (line: string) => void;
  /** Pause after the traffic with the lab up, until Enter (Ctrl-C tears it down). */
  keep?: boolean;
  /** Which backend realises the lab (default netns). */
  backend?: BackendKind;
}

export async function runPhase(scenario: Scenario, phase: Phase, o: RunPhaseOptions): Promise<PhaseResult> {
  const started = Date.now();
  const base = {
    scenario: scenario.id,
    phase: phase.name,
    kind: phase.kind,
    title: phase.title,
    iteration: o.iteration ?? 1,
    envoyVersion: o.envoy.version,
    backend: o.backend ?? 'netns',
    artifactsDir: o.artifactsDir,
  };
  const timings = { topologyUpMs: 0, envoyReadyMs: 0, scriptedMs: 0, teardownMs: 0 };
  const finish = async (r: Omit<PhaseResult, keyof typeof base | 'timings'> & { timings?: LabTimings }) => {
    const result: PhaseResult = { ...base, ...r, timings: { ...(r.timings ?? timings), wallMs: Date.now() - started } };
    await mkdir(o.artifactsDir, { recursive: true });
    await writeFile(join(o.artifactsDir, 'verdict.json'), JSON.stringify(result, null, 2));
    return result;
  };

  if (phase.requires && compareVersions(o.envoy.version, phase.requires.envoy) < 0) {
    return finish({
      status: 'not-applicable',
      verdicts: [{ label: `needs Envoy ≥ ${phase.requires.envoy}`, pass: 'unknown', evidence: `${phase.requires.why}; this run uses Envoy ${o.envoy.version}` }],
      strip: '',
    });
  }

  const configPath = variantPath(scenario.id, phase.config);
  let lab: Lab | undefined;
  try {
    await sweepStaleLabs();
    await assertVariantValid(o.envoy, configPath);
    const backend = await createBackend(o.backend ?? 'netns', o.envoy);
    lab = await Lab.start(
      backend,
      { ...scenario.lab, upstreams: upstreamsFor(scenario, phase), sidecar: { config: configPath, excludeOutbound: phase.excludeOutbound } },
      { envoy: o.envoy, artifactsDir: o.artifactsDir, log: o.log },
    );
    o.log?.(`lab ${backend.labId} up on ${backend.plan.cidr} (topology ${lab.timings.topologyUpMs} ms, Envoy ready ${lab.timings.envoyReadyMs} ms)`);
    try {
      await phase.run(lab);
    } finally {
      await lab.stopApp().catch(() => {});
    }
    if (o.keep) await pauseForPoking(lab);
    const evidence = await lab.collect();
    await lab.dispose();
    const verdict = judge(phase.expect, evidence);
    return finish({ status: verdict.status, verdicts: verdict.verdicts, strip: lab.timeline.strip(), timings: lab.timings });
  } catch (err) {
    await lab?.dispose();
    const message = err instanceof LabError ? err.render() : err instanceof Error ? `${err.message}` : String(err);
    return finish({ status: 'error', verdicts: [], error: message, strip: lab?.timeline.strip() ?? '', timings: lab?.timings });
  }
}
