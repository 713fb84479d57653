/**
 * What an Istio upgrade changes in the config istiod generates for a team's own Istio YAML, one
 * behaviour change at a time. The "to" Istio renders the YAML as it is (every change in force), then
 * once more with each change's flag reverted to the "from" release's behaviour (Istio's own
 * compatibility profile for it), then with all of them reverted. A flag whose revert changes no
 * fact has no effect on this YAML; one that does is named with the facts it changes. A second render
 * of the same input shows what is not stable between renders, so it is never blamed on a flag.
 */
import { configFacts, factDiff, type Facts } from '../istio/config-facts.js';
import { profileEnv, type BehaviourChange } from '../istio/compat-profiles.js';
import { renderIstio, type RenderOptions } from '../istio/render.js';
import { resourcesOfDump } from '../envoy/import-config.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { upgradeSides } from './upgrade-sides.js';
import { TrafficComparison, type TrafficEffect, type TrafficOptions } from './traffic-changes.js';

export interface ConfigChangesOptions {
  /** The Istio YAML files (a team's, or a scenario's). */
  files: string[];
  /** The Istio module rendering it ("to"): default the one lab/istiod pins. */
  to?: string;
  /**
   * What is upgraded from: a compatibility profile of `to` ("compat-1.29" or "1.29": Istio's own
   * emulation of that release on the new build), or another Istio build (a module version,
   * `pinned` or `latest`), rendered itself.
   */
  from: string;
  /** The pod whose sidecar is rendered: its app label and namespace. */
  app?: string;
  namespace?: string;
  progress?: (line: string) => void;
  /** Also run traffic through the renders a change alters (a lab each, real Envoy): what it does to calls, not only to config. */
  traffic?: Omit<TrafficOptions, 'progress'>;
}

export type FactChange = { what: string; before: string; after: string };

export interface ChangeEffect {
  change: BehaviourChange;
  /** The facts that differ between this flag reverted (the old behaviour) and the "to" render. */
  changes: FactChange[];
  /** false: the "to" Istio's source no longer registers the flag (a profile entry left behind), so setting it does nothing. */
  read: boolean;
  /** Why it is reverted for the "from" side: its profile sets it, or the older build does not know the flag. */
  why: 'profile' | 'newer than the build';
  /** What it does to calls (with traffic, for a change that alters the config): the calls and deliveries that differ. */
  traffic?: TrafficEffect;
  /** The catalogue's incidents that reproduce this change (Scenario.behaviourChange): what to run to see it happen. */
  reproduce: string[];
}

export interface ConfigChanges {
  to: string;
  from: string;
  /** Every change the from-profile reverts, with its effect on this YAML (none: no effect). */
  effects: ChangeEffect[];
  /** Everything the from-profile reverts, at once. */
  all: FactChange[];
  /** Facts that differ between two renders of the same input: never attributed to a flag. */
  unstable: string[];
  /** Settings of the profile the lab does not run (istio-cni, ztunnel Helm values). */
  notRun: string[];
  /** With --from another Istio build: what that build renders differently, in all and behind no flag of the profile. */
  fromBuild?: { version: string; release: string; profile?: string; all: FactChange[]; behindNoFlag: FactChange[] };
}

/** Behaviour-change flag → `npm run scenario -- <id> --istio` for each catalogue scenario that reproduces it. */
async function scenariosByBehaviourChange(): Promise<Map<string, string[]>> {
  const byFlag = new Map<string, string[]>();
  for (const s of await Promise.all(scenarioIds().map(loadScenario))) {
    if (s.behaviourChange) byFlag.set(s.behaviourChange, [...(byFlag.get(s.behaviourChange) ?? []), `npm run scenario -- ${s.id} --istio`]);
  }
  return byFlag;
}

export async function configChanges(o: ConfigChangesOptions): Promise<ConfigChanges> {
  const { to, profiles, profile, fromVersion, fromRelease, fromEnv, changes, newer, readByTo } = await upgradeSides(o);
  const flags = changes.map((c) => c.flag);
  const dumps = new Map<Facts, object>();
  const render = async (env: Record<string, string>, version = to): Promise<Facts> => {
    const dump = await renderIstio(o.files, { version, app: o.app, namespace: o.namespace, env, flags, progress: o.progress } satisfies RenderOptions);
    const facts = configFacts(resourcesOfDump(dump), { whole: true });
    dumps.set(facts, dump);
    return facts;
  };
  const now = await render({});
  const again = await render({});
  const traffic = o.traffic && new TrafficComparison(dumps.get(now)!, { ...o.traffic, progress: o.progress });
  const unstable = new Set(factDiff(now, again).map((d) => d.what));
  const stable = (d: FactChange[]) => d.filter((x) => !unstable.has(x.what));
  const effects: ChangeEffect[] = [];
  const reproducing = await scenariosByBehaviourChange();
  for (const change of changes) {
    o.progress?.(`rendering with ${change.flag}=${fromEnv[change.flag]} (the behaviour before ${change.changedIn})`);
    const why = newer.some((c) => c.flag === change.flag) && !(profile && change.flag in profileEnv(profiles, profile)) ? 'newer than the build' : 'profile';
    const old = await render({ [change.flag]: fromEnv[change.flag]! });
    const changed = stable(factDiff(old, now));
    effects.push({ change, changes: changed, read: readByTo.has(change.flag), why, reproduce: reproducing.get(change.flag) ?? [], ...(traffic && changed.length ? { traffic: await traffic.against(dumps.get(old)!, `${change.flag}=${fromEnv[change.flag]}`) } : {}) });
  }
  const reverted = await render(fromEnv);
  const all = stable(factDiff(reverted, now));
  const notRun = profiles.find((p) => p.version === profile?.replace(/^compat-/, ''))?.otherCharts ?? [];
  if (!fromVersion) return { to, from: o.from, effects, all, unstable: [...unstable], notRun };
  o.progress?.(`rendering with Istio ${fromVersion} (release ${fromRelease || 'unknown'})`);
  const old = await render({}, fromVersion);
  const fromBuild = { version: fromVersion, release: fromRelease || 'unknown', ...(profile ? { profile } : {}), all: stable(factDiff(old, now)), behindNoFlag: stable(factDiff(old, reverted)) };
  return { to, from: o.from, effects, all, unstable: [...unstable], notRun, fromBuild };
}
