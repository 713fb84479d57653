/**
 * What an Istio upgrade changes in the config istiod generates for a team's own Istio YAML, one
 * behaviour change at a time. The "to" Istio renders the YAML as it is (every change in force), then
 * once more with each change's flag reverted to the "from" release's behaviour (Istio's own
 * compatibility profile for it), then with all of them reverted. A flag whose revert changes no
 * fact has no effect on this YAML; one that does is named with the facts it changes. A second render
 * of the same input shows what is not stable between renders, so it is never blamed on a flag.
 */
import { configFacts, factDiff, type Facts } from '../istio/config-facts.js';
import { behaviourChanges, compatProfiles, istioModuleAt, profileEnv, type BehaviourChange } from '../istio/compat-profiles.js';
import { pinnedIstio } from '../istio/istiod-binary.js';
import { renderIstio, type RenderOptions } from '../istio/render.js';
import { resourcesOfDump } from '../envoy/import-config.js';

export interface ConfigChangesOptions {
  /** The Istio YAML files (a team's, or a scenario's). */
  files: string[];
  /** The Istio module rendering it ("to"): default the one lab/istiod pins. */
  to?: string;
  /** The release upgraded from, as a compatibility profile of `to`: "compat-1.29" or "1.29". */
  from: string;
  /** The pod whose sidecar is rendered: its app label and namespace. */
  app?: string;
  namespace?: string;
  progress?: (line: string) => void;
}

export type FactChange = { what: string; before: string; after: string };

export interface ChangeEffect {
  change: BehaviourChange;
  /** The facts that differ between this flag reverted (the old behaviour) and the "to" render. */
  changes: FactChange[];
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
}

export async function configChanges(o: ConfigChangesOptions): Promise<ConfigChanges> {
  const to = o.to ?? (await pinnedIstio());
  const profiles = await compatProfiles(await istioModuleAt(to));
  const fromEnv = profileEnv(profiles, o.from);
  const changes = behaviourChanges(profiles).filter((c) => c.flag in fromEnv);
  const flags = changes.map((c) => c.flag);
  const render = async (env: Record<string, string>): Promise<Facts> => {
    const dump = await renderIstio(o.files, { version: to, app: o.app, namespace: o.namespace, env, flags, progress: o.progress } satisfies RenderOptions);
    return configFacts(resourcesOfDump(dump), { whole: true });
  };
  const now = await render({});
  const again = await render({});
  const unstable = new Set(factDiff(now, again).map((d) => d.what));
  const stable = (d: FactChange[]) => d.filter((x) => !unstable.has(x.what));
  const effects: ChangeEffect[] = [];
  for (const change of changes) {
    o.progress?.(`rendering with ${change.flag}=${fromEnv[change.flag]} (the behaviour before ${change.changedIn})`);
    effects.push({ change, changes: stable(factDiff(await render({ [change.flag]: fromEnv[change.flag]! }), now)) });
  }
  const all = stable(factDiff(await render(fromEnv), now));
  const notRun = profiles.find((p) => p.version === o.from.replace(/^compat-/, ''))?.otherCharts ?? [];
  return { to, from: o.from, effects, all, unstable: [...unstable], notRun };
}
