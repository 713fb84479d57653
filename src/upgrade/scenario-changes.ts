/**
 * What an Istio upgrade does to the incidents a team keeps (the catalogue's, and their own with
 * --scenarios): each scenario phase's Istio YAML rendered by the "to" Istio as it is and with each
 * behaviour change reverted; a phase whose config a change alters is then run under --istio on
 * both sides, and its verdicts compared. A before that stops reproducing, or a fix that stops
 * fixing, is a change to the team's traffic; the same verdict on both sides is config only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BehaviourChange } from '../istio/compat-profiles.js';
import { configFacts, factDiff } from '../istio/config-facts.js';
import { istioInput, istioYamlPath } from '../istio/istio-variant.js';
import { renderIstio } from '../istio/render.js';
import { resourcesOfDump } from '../envoy/import-config.js';
import type { Phase, Scenario } from '../scenario/scenario.js';
import { runPhase, type PhaseStatus } from '../scenario/run-phase.js';
import type { FactChange } from './config-changes.js';
import type { TrafficOptions } from './traffic-changes.js';
import { upgradeSides } from './upgrade-sides.js';

export interface PhaseEffect {
  scenario: string;
  phase: string;
  kind: Phase['kind'];
  /** The Istio YAML variant it serves (envoy-configs/<scenario>/istio/<variant>.yaml). */
  variant: string;
  changes: FactChange[];
  /** Run under --istio on both sides: its verdict with the old behaviour → with the new one. */
  traffic?: { verdict: 'changes your traffic' | 'config only' | 'unknown'; before: PhaseStatus; after: PhaseStatus; evidence: { before: string; after: string }; reason?: string };
  reproduce: string;
}

export interface ScenarioChangeEffect {
  change: BehaviourChange;
  /** false: the "to" Istio no longer reads the flag. */
  read: boolean;
  /** The phases whose config the change alters (none: no effect on any). */
  phases: PhaseEffect[];
}

export interface ScenarioChanges {
  to: string;
  from: string;
  /** The scenarios whose Istio YAML was rendered. */
  scenarios: string[];
  effects: ScenarioChangeEffect[];
}

export interface ScenarioChangesOptions {
  scenarios: Scenario[];
  from: string;
  to?: string;
  progress?: (line: string) => void;
  traffic?: Omit<TrafficOptions, 'progress'>;
}

/** The Istio YAML variants a scenario's phases serve at the new behaviour (a phase that reverts a change itself is left out). */
function istioVariants(s: Scenario): Map<string, Phase[]> {
  const byVariant = new Map<string, Phase[]>();
  for (const p of s.phases) {
    const variant = p.istioObjects ?? p.config;
    if (p.oldIstioBehaviour || !existsSync(istioYamlPath(s.id, variant))) continue;
    byVariant.set(variant, [...(byVariant.get(variant) ?? []), p]);
  }
  return byVariant;
}

export async function scenarioChanges(o: ScenarioChangesOptions): Promise<ScenarioChanges> {
  const sides = await upgradeSides(o);
  const flags = sides.changes.map((c) => c.flag);
  const effects: ScenarioChangeEffect[] = sides.changes.map((change) => ({ change, read: sides.readByTo.has(change.flag), phases: [] }));
  const rendered: string[] = [];
  const tmp = await mkdtemp(join(tmpdir(), 'efl-upgrade-'));
  try {
    for (const s of o.scenarios) {
      const variants = istioVariants(s);
      if (!variants.size) continue;
      rendered.push(s.id);
      for (const [variant, phases] of variants) {
        o.progress?.(`${s.id}/${variant}: rendering with the new behaviour and with each of ${flags.length} change(s) reverted`);
        const input = await istioInput(s, istioYamlPath(s.id, variant), join(tmp, `${s.id}-${variant}.yaml`));
        const render = async (env: Record<string, string>) => configFacts(resourcesOfDump(await renderIstio([input.filled], { podIp: input.vars.POD_IP, meshFiles: input.meshFiles, version: sides.to, env, flags })), { whole: true });
        const now = await render({});
        for (const e of effects) {
          const changes = factDiff(await render({ [e.change.flag]: sides.fromEnv[e.change.flag]! }), now);
          if (!changes.length) continue;
          for (const p of phases) e.phases.push({ scenario: s.id, phase: p.name, kind: p.kind, variant, changes, reproduce: `npm run scenario -- ${s.id} --phase ${p.name} --istio` });
        }
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (o.traffic) await runBothSides(o, effects, sides);
  return { to: sides.to, from: o.from, scenarios: rendered, effects };
}

/** Each affected phase under --istio: once at the new behaviour (shared by every change), once per change reverted. */
async function runBothSides(o: ScenarioChangesOptions, effects: ScenarioChangeEffect[], sides: Awaited<ReturnType<typeof upgradeSides>>): Promise<void> {
  const t = o.traffic!;
  const byId = new Map(o.scenarios.map((s) => [s.id, s]));
  const atNew = new Map<string, { status: PhaseStatus; dir: string; reason?: string }>();
  const run = async (pe: PhaseEffect, env: Record<string, string>, name: string) => {
    const s = byId.get(pe.scenario)!;
    const dir = join(t.artifactsDir, `${pe.scenario}-${pe.phase}-${name}`);
    const r = await runPhase(s, s.phases.find((p) => p.name === pe.phase)!, { envoy: t.envoy, backend: t.backend, artifactsDir: dir, istio: sides.to, istioEnv: env });
    return { status: r.status, dir, reason: r.reason ?? r.error?.split('\n')[0] };
  };
  for (const e of effects) {
    for (const pe of e.phases) {
      const key = `${pe.scenario}/${pe.phase}`;
      if (!atNew.has(key)) {
        o.progress?.(`${key} under --istio at the new behaviour`);
        atNew.set(key, await run(pe, {}, 'new'));
      }
      const after = atNew.get(key)!;
      o.progress?.(`${key} under --istio with ${e.change.flag}=${sides.fromEnv[e.change.flag]} (the old behaviour)`);
      const before = await run(pe, { [e.change.flag]: sides.fromEnv[e.change.flag]! }, `old-${e.change.flag}`);
      const unknown = [before, after].find((x) => x.status === 'error' || x.status === 'unknown');
      pe.traffic = {
        verdict: unknown ? 'unknown' : before.status === after.status ? 'config only' : 'changes your traffic',
        before: before.status,
        after: after.status,
        evidence: { before: before.dir, after: after.dir },
        ...(unknown?.reason ? { reason: unknown.reason } : {}),
      };
    }
  }
}
