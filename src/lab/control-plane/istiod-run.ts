/**
 * --istio for one phase: what the runner asks of the istiod control plane before and after the
 * lab (the runner itself never reads Istio's files). Before: the phase's Istio YAML, the Istio
 * version that runs and whether the phase can run on it. After a failed before or fix: whether
 * Istio renders the objects differently from the hand-written variant (the likely reason).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { istioInput, istioMeshFiles, istioYamlPath, rendersDifferently } from '../../istio/istio-variant.js';
import { renderIstio } from '../../istio/render.js';
import { latestIstio, pinnedIstio } from '../../istio/istiod-binary.js';
import { compareIstioVersions } from '../../istio/istio-version.js';
import { behaviourChanges, compatProfiles, flagsKnownBy, istioModuleAt } from '../../istio/compat-profiles.js';
import type { LabSpec } from '../lab-spec.js';

export interface IstiodPhase {
  scenario: string;
  /** The phase's config variant, and its kind. */
  config: string;
  kind: string;
  /** Another pod's own variant beside it, if the phase runs one. */
  peerVariant?: string;
  requiresIstio?: { version: string; why: string };
  /** The Istio YAML variant served, when it is not `config`'s (Phase.istioObjects). */
  istioObjects?: string;
  /** The scenario's Istio behaviour change (its istiod flag), and whether this phase runs it reverted. */
  behaviourChange?: { flag: string; reverted: boolean };
  /** istiod's environment of the phase's own (Phase.istiodEnv). */
  istiodEnv?: Record<string, string>;
}

export type IstiodPlan = { notApplicable: string } | { spec: NonNullable<LabSpec['istio']>; running: string; describe: string };

/** `istio`: true for the pinned Istio, or a version ('latest' for the newest built). */
export async function planIstiodPhase(p: IstiodPhase, istio: true | string, extraEnv: Record<string, string> = {}): Promise<IstiodPlan> {
  const objects = p.istioObjects ?? p.config;
  const source = istioYamlPath(p.scenario, objects);
  if (!existsSync(source)) return { notApplicable: `--istio: no Istio YAML for this phase's config (${source.replace(/^.*\/envoy-configs\//, 'envoy-configs/')})` };
  const version = typeof istio === 'string' ? istio : undefined;
  const running = version === 'latest' ? await latestIstio() : (version ?? (await pinnedIstio()));
  if (p.requiresIstio && compareIstioVersions(running, p.requiresIstio.version) < 0) {
    return { notApplicable: `--istio: needs Istio ≥ ${p.requiresIstio.version}: ${p.requiresIstio.why}; this run uses Istio ${running}` };
  }
  const change = p.behaviourChange && (await behaviourChangeIn(running, p.behaviourChange));
  if (change && 'notApplicable' in change) return change;
  // The other pod's own objects (its PeerAuthentication, …): its variant's Istio YAML, when there is one.
  const peerSource = p.peerVariant && istioYamlPath(p.scenario, p.peerVariant);
  // The phase's own settings, then the caller's (upgrade-check reverting one flag) over them.
  const own = { ...(p.istiodEnv ?? {}), ...extraEnv };
  const env = { ...(change?.env ?? {}), ...own };
  const extra = Object.entries(own).map(([k, v]) => `istiod env ${k}=${v}`).join(', ');
  return {
    spec: { scenario: p.scenario, source, peerSource: peerSource && existsSync(peerSource) ? peerSource : undefined, meshFiles: istioMeshFiles(p.scenario, objects), version, env },
    running,
    describe: `--istio: istiod (lab/istiod, Istio ${version ?? (await pinnedIstio())}${change ? `, ${change.says}` : ''}${extra ? `, ${extra}` : ''}) serves istio/${objects}.yaml to the sidecar over ADS`,
  };
}

/**
 * The scenario's behaviour change in the Istio that runs, from that module's own compatibility
 * profiles: the env that reverts it (for a phase with the old behaviour), or not applicable when
 * this Istio's profiles do not list it (the change is newer than this build, or long permanent).
 */
async function behaviourChangeIn(running: string, c: { flag: string; reverted: boolean }): Promise<{ notApplicable: string } | { env: Record<string, string>; says: string }> {
  const moduleDir = await istioModuleAt(running);
  const change = behaviourChanges(await compatProfiles(moduleDir)).find((b) => b.flag === c.flag);
  // The new behaviour is whatever this build does: only the way back needs the profiles.
  if (!c.reverted) return { env: {}, says: change ? `${c.flag} at this build's default: the behaviour since ${change.changedIn}` : `${c.flag} is in none of this build's compatibility profiles: its behaviour is the build's own` };
  if (!change) return { notApplicable: `--istio: Istio ${running}'s compatibility profiles do not list ${c.flag}: no flag brings the old behaviour back on this build (the change is permanent here, or newer than it); the hand-written variant models it` };
  if (!(await flagsKnownBy(moduleDir)).has(c.flag)) return { notApplicable: `--istio: Istio ${running} no longer reads ${c.flag} (its profiles still set it): the old behaviour cannot be had on it` };
  return { env: { [c.flag]: change.oldValue }, says: `istiod env ${c.flag}=${change.oldValue}: the behaviour before ${change.changedIn}, as compatibilityVersion ${change.profiles.at(-1)} sets it` };
}

/** A before that did not happen or a fix that did not fix, under --istio: how Istio's rendering differs from the hand-written variant. */
export async function istiodFailureReason(p: IstiodPhase, spec: NonNullable<LabSpec['istio']>, artifactsDir: string): Promise<string> {
  return rendersDifferently(p.scenario, { kind: p.kind, config: p.config }, join(artifactsDir, 'istiod', 'config_dump.json.0'), spec.version ?? (await pinnedIstio()));
}

/** Whether the running Istio is `from` or newer (a documented symptom gone from that release). */
export const istioAtLeast = (running: string, from: string) => compareIstioVersions(running, from) >= 0;

/** What istiod generates from one of a scenario's Istio YAML files, rendered outside any lab (with this lab's placeholders filled in). */
export async function renderScenarioIstio(scenario: { id: string; world: { upstreams: Array<{ name: string; octet: number }> } }, file: string, progress?: (line: string) => void): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'efl-render-'));
  try {
    const input = await istioInput(scenario, file, join(tmp, basename(file)));
    await renderIstio([input.filled], { podIp: input.vars.POD_IP, meshFiles: input.meshFiles, progress });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
