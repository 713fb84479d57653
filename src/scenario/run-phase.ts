/**
 * Runs one phase of a scenario in a fresh lab: sweep stale labs, validate the config, start the
 * lab, play the incident, collect the evidence, tear down, judge. Never retries.
 * A missing prerequisite is not a phase result: it ends the whole run (exit 3), once.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackend, type BackendKind } from '../backends/create-backend.js';
import { sweepStaleLabs } from '../backends/reaper.js';
import { judge, judgeDocumented, type Verdict } from '../checks/check.js';
import { variantPath } from '../envoy/config.js';
import type { EnvoyBinary } from '../envoy/install.js';
import { compareVersions } from '../envoy/version.js';
import { NotApplicableError, PrerequisiteError, describeError } from '../errors.js';
import { Evidence } from '../evidence/evidence.js';
import { Lab } from '../lab/lab.js';
import { UserApp } from '../lab/user-app.js';
import type { HttpClientChoice } from '../lab/app-client.js';
import type { LabOptions, LabSpec, LabTimings } from '../lab/lab-spec.js';
import type { PhaseNarrator } from './phase-narrator.js';
import { istioAtLeast, istiodFailureReason, planIstiodPhase } from '../lab/control-plane/istiod-run.js';
import { pauseForPoking } from './keep.js';
import { labSpecFor, type Phase, type Scenario } from './scenario.js';
import { assertVariantValid } from './validate-variant.js';
import { BOOT_LOAD, acquireSlot } from '../scheduler/machine-slots.js';
import { harnessCpuShare } from '../scheduler/harness-cpu.js';
import { loadRequest, phaseLoadKey, recordLoad } from '../scheduler/phase-load.js';

/**
 * pass: every check passed. fail: a check's evidence contradicts it. unknown: evidence a check
 * needs is missing. gone: every check passed and a documented symptom was proven gone on this
 * Envoy (DocumentedSymptom). not-applicable: the phase needs another Envoy. error: the lab failed.
 */
export type PhaseStatus = 'pass' | 'gone' | 'fail' | 'unknown' | 'not-applicable' | 'error';

export interface PhaseResult {
  scenario: string;
  phase: string;
  kind: Phase['kind'];
  title: string;
  iteration: number;
  status: PhaseStatus;
  verdicts: Verdict[];
  /** Why a phase is not applicable, or what went wrong (status error). */
  reason?: string;
  error?: string;
  envoyVersion: string;
  backend: BackendKind;
  timings: LabTimings & { wallMs: number };
  /** "....x x x ^dns ..." */
  strip: string;
  artifactsDir: string;
  /** The config file the phase ran when it was not its own variant (--config). */
  configOverride?: string;
}

/** Statuses that count as "behaved as documented". */
export const OK_STATUSES: PhaseStatus[] = ['pass', 'gone', 'not-applicable'];

export interface RunPhaseOptions extends LabOptions {
  envoy: EnvoyBinary;
  artifactsDir: string;
  iteration?: number;
  log?: (line: string) => void;
  /** Pause after the traffic with the lab up, until Enter (Ctrl-C tears it down). */
  keep?: boolean;
  /** Which backend realises the lab (default netns). */
  backend?: BackendKind;
  /** The user's own client (--app): a shell command run as the app in the pod during the phase. */
  appCommand?: string;
  /** Workshop mode (--narrate, --step). */
  narrator?: PhaseNarrator;
  /** --client curl | go: the program that plays the app (default: the lab's own client). */
  httpClient?: HttpClientChoice;
  /** --config: run the phase's traffic and faults against this config file instead of its own variant. */
  configPath?: string;
  /** --app-image (Docker backend): the image --app's command runs in, in the pod's network namespace. */
  appImage?: string;
  /** --app-only: the user's command is the app; the lab's own client does not run. */
  appOnly?: boolean;
  /**
   * --istio [version]: istiod runs in the lab and serves the phase's config over ADS, generated
   * from envoy-configs/<id>/istio/<variant>.yaml; a string is the Istio version (default: pinned).
   */
  istio?: boolean | string;
  /** Under --istio, istiod's environment beyond the phase's own: a behaviour flag set by the upgrade check. */
  istioEnv?: Record<string, string>;
  /**
   * --parallel N: the caller chose how many phase runs go at once, so the machine's scheduler
   * counts this run by number, not by cores (it still never runs beside an `alone` phase).
   */
  forcedParallel?: boolean;
  /**
   * Hand the lab's removal (namespaces, containers) to the caller instead of waiting for it: the
   * result comes back as soon as the evidence is saved; the run's slot on the machine is held
   * until the lab is gone. runScheduled passes this and waits for every removal at its end.
   */
  teardownInBackground?: (gone: Promise<void>) => void;
}

/** Why a phase cannot run on this Envoy (or with this --client), or undefined when it can. */
export function notApplicable(phase: Phase, envoyVersion: string, client?: HttpClientChoice, istio?: boolean | string): string | undefined {
  const notFor = client && phase.notFor?.[client.impl];
  if (notFor) return `not with --client ${client.impl}: ${notFor}`;
  if (phase.pilotAgentOnly && !istio) return `needs --istio, where Istio's own pilot-agent runs the sidecar: ${phase.pilotAgentOnly}`;
  if (!phase.requires || compareVersions(envoyVersion, phase.requires.envoy) >= 0) return undefined;
  return `needs Envoy ≥ ${phase.requires.envoy}: ${phase.requires.why}; this run uses Envoy ${envoyVersion}`;
}

/** A phase's checks, then its documented symptoms for this Envoy version. */
export function judgePhase(phase: Phase, evidence: Evidence): { status: PhaseStatus; verdicts: Verdict[] } {
  const base = judge(phase.expect, evidence);
  if (!phase.documented?.length || evidence.appSentNothing) return base; // no traffic: nothing to judge
  const istio = evidence.data.istioVersion;
  const documented = judgeDocumented(phase.documented, evidence, (d) =>
    d.goneOnIstio !== undefined
      ? istio !== undefined && istioAtLeast(istio, d.goneOnIstio) ? `Istio ${istio} (expected from ${d.goneOnIstio}), what istiod renders` : undefined
      : d.goneFrom !== undefined && compareVersions(evidence.envoyVersion, d.goneFrom) >= 0 ? `Envoy ${evidence.envoyVersion} (expected from ${d.goneFrom})` : undefined,
  );
  const verdicts = [...base.verdicts, ...documented.verdicts];
  const status: PhaseStatus = verdicts.every((v) => v.status === 'pass') ? (documented.gone ? 'gone' : 'pass') : verdicts.some((v) => v.status === 'fail') ? 'fail' : 'unknown';
  return { status, verdicts };
}

export async function runPhase(scenario: Scenario, phase: Phase, o: RunPhaseOptions): Promise<PhaseResult> {
  let started = Date.now();
  const base: Pick<PhaseResult, 'scenario' | 'phase' | 'kind' | 'title' | 'iteration' | 'envoyVersion' | 'backend' | 'artifactsDir' | 'configOverride'> = {
    scenario: scenario.id,
    phase: phase.name,
    kind: phase.kind,
    title: phase.title,
    iteration: o.iteration ?? 1,
    envoyVersion: o.envoy.version,
    backend: o.backend ?? 'netns',
    artifactsDir: o.artifactsDir,
    ...(o.configPath ? { configOverride: o.configPath } : {}),
  };
  const noTimings = { topologyUpMs: 0, envoyReadyMs: 0, scriptedMs: 0, teardownMs: 0 };
  const finish = async (r: Omit<PhaseResult, keyof typeof base | 'timings'> & { timings?: LabTimings }) => {
    const result: PhaseResult = { ...base, ...r, timings: { ...(r.timings ?? noTimings), wallMs: Date.now() - started } };
    await mkdir(o.artifactsDir, { recursive: true });
    await writeFile(join(o.artifactsDir, 'verdict.json'), JSON.stringify(result, null, 2));
    return result;
  };

  const na = notApplicable(phase, o.envoy.version, o.httpClient, o.istio);
  if (na) return finish({ status: 'not-applicable', verdicts: [], reason: na, strip: '' });

  const configPath = o.configPath ?? variantPath(scenario.id, phase.config);
  let istio: LabSpec['istio'];
  /** --istio: the Istio this run's istiod is built from (documented symptoms may be gone on it). */
  let running: string | undefined;
  const istiodPhase = { scenario: scenario.id, config: phase.config, kind: phase.kind, requiresIstio: phase.requiresIstio, istioObjects: phase.istioObjects, istiodEnv: phase.istiodEnv, behaviourChange: scenario.behaviourChange ? { flag: scenario.behaviourChange, reverted: !!phase.oldIstioBehaviour } : undefined, peerVariant: phase.peerSidecar === false ? undefined : (phase.peerSidecar ?? scenario.world.peerSidecar?.config) };
  if (o.istio) {
    // istiod runs in the lab and serves the phase's Istio YAML to the sidecar over ADS.
    const plan = await planIstiodPhase(istiodPhase, o.istio, o.istioEnv);
    if ('notApplicable' in plan) return finish({ status: 'not-applicable', verdicts: [], reason: plan.notApplicable, strip: '' });
    ({ spec: istio, running } = plan);
    base.configOverride = plan.spec.source;
    o.log?.(plan.describe);
  }
  // The machine's scheduler: wait for room, then hold it until the lab is gone (scheduler/).
  const backendKind = o.backend ?? 'netns';
  const loadKey = phaseLoadKey(phase.name, { istio: o.istio, client: o.httpClient?.impl });
  const load = await loadRequest({ backend: backendKind, scenario: scenario.id, phase: loadKey, declared: phase.load });
  const slot = await acquireSlot({ label: `${backendKind} ${scenario.id} ${loadKey}`, cores: load.cores, alone: load.alone, forced: o.forcedParallel, boot: BOOT_LOAD[backendKind], expectedMs: load.wallMs }, o.log);
  const waitedMs = Date.now() - started;
  if (waitedMs > 1000) o.log?.(`started after ${(waitedMs / 1000).toFixed(1)} s in the machine's queue (${load.alone ? 'needs the machine alone' : `${load.cores.toFixed(2)} cores, ${load.source}`})`);
  started = Date.now(); // wall time is the phase's own, not its wait
  const harnessCpu = harnessCpuShare();
  let lab: Lab | undefined;
  try {
    await sweepStaleLabs();
    // Under --istio Envoy validates what istiod pushes itself (a rejection fails the sidecar's start).
    if (!istio) await assertVariantValid(o.envoy, configPath, scenario.world.upstreams);
    const server = labSpecFor(scenario, phase, configPath).peerSidecar;
    if (!istio && server) await assertVariantValid(o.envoy, server.config, scenario.world.upstreams);
    await o.narrator?.phase(scenario, phase);
    const backend = await createBackend(o.backend ?? 'netns', o.envoy);
    const prepareMs = Date.now() - started;
    lab = await Lab.start(
      backend,
      { ...labSpecFor(scenario, phase, configPath), istio },
      { envoy: o.envoy, artifactsDir: o.artifactsDir, log: o.log, omitFaults: o.omitFaults, narrator: o.narrator, httpClient: o.httpClient, appOnly: o.appOnly, scenario: scenario.id, phase: phase.name },
    );
    lab.timings.steps = { prepare: prepareMs, ...lab.timings.steps };
    o.log?.(`lab ${backend.labId} up on ${backend.plan.cidr} (topology ${lab.timings.topologyUpMs} ms, ${lab.sidecar.ifStarted ? `Envoy ready ${lab.timings.envoyReadyMs} ms` : 'the sidecar starts when the scenario says'})`);
    const userApp = o.appCommand ? await UserApp.start(lab.backend, o.appCommand, lab.timeline, o.artifactsDir, o.appImage) : undefined;
    try {
      await phase.run(lab);
    } finally {
      await lab.app.stop().catch(() => {});
      if (userApp) o.log?.(await userApp.stop());
    }
    if (lab.notApplicableReason) throw new NotApplicableError(lab.notApplicableReason);
    if (o.keep) await pauseForPoking(lab, o.narrator);
    const collecting = Date.now();
    const evidence = new Evidence({ ...(await lab.collect()), ...(running ? { istioVersion: running } : {}) });
    lab.timings.steps!.collect = Date.now() - collecting;
    const handOff = o.teardownInBackground;
    await lab.dispose({ teardownInBackground: handOff && ((gone) => handOff(gone.finally(() => slot.release()))) });
    if (!handOff) await slot.release();
    await recordLoad({ backend: backendKind, scenario: scenario.id, phase: loadKey, cpuMs: (lab.timings.cpuMs ?? NaN) + harnessCpu(), wallMs: lab.timings.lifetimeMs ?? NaN });
    const verdict = judgePhase(phase, evidence);
    // With --istio, an incident that does not happen, or a fix that does not fix, is Istio rendering the objects differently: say so, with what it generated.
    const reason = istio && (phase.kind === 'before' || phase.kind === 'fix') && verdict.status === 'fail' ? await istiodFailureReason(istiodPhase, istio, o.artifactsDir) : undefined;
    return finish({ status: verdict.status, verdicts: verdict.verdicts, reason, strip: lab.timeline.strip(), timings: lab.timings });
  } catch (err) {
    await lab?.dispose();
    harnessCpu();
    await slot.release();
    if (err instanceof PrerequisiteError) throw err; // the machine lacks something: say it once, exit 3
    if (err instanceof NotApplicableError) return finish({ status: 'not-applicable', verdicts: [], reason: err.message, strip: lab?.timeline.strip() ?? '', timings: lab?.timings });
    return finish({ status: 'error', verdicts: [], error: describeError(err), strip: lab?.timeline.strip() ?? '', timings: lab?.timings });
  }
}
