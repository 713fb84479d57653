/**
 * The two sides of an upgrade, as istiod environments on the "to" Istio: the new behaviour (its
 * defaults) and the old one (the "from" release's compatibility profile, plus, from another build,
 * every change whose flag that build does not know yet). Each behaviour change between them is
 * one flag, reverted alone or all together.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { behaviourChanges, compatProfiles, flagsKnownBy, istioModuleAt, profileEnv, type BehaviourChange, type Profile } from '../istio/compat-profiles.js';
import { latestIstio, pinnedIstio } from '../istio/istiod-binary.js';
import { UsageError } from '../errors.js';

export interface UpgradeSides {
  /** The Istio module that renders both sides. */
  to: string;
  profiles: Profile[];
  /** The compatibility profile the old side is (compat-1.29), when there is one. */
  profile?: string;
  /** --from another build: its module version and release. */
  fromVersion?: string;
  fromRelease?: string;
  /** The old side: flag → the value that keeps the old behaviour. */
  fromEnv: Record<string, string>;
  /** The changes between the sides, in the profiles' order. */
  changes: BehaviourChange[];
  /** Changes the older build does not know (reverted for it because they are newer). */
  newer: BehaviourChange[];
  /** The flags the "to" build's source registers. */
  readByTo: Set<string>;
}

/** "compat-1.29" or "1.29": a profile; anything else names an Istio build. */
const isProfile = (from: string) => /^(compat-)?\d+\.\d+$/.test(from);

/** A module version for `pinned`, `latest` or a pseudo-version; anything else is bad input. */
async function moduleVersion(name: string, option: string): Promise<string> {
  if (name === 'pinned') return pinnedIstio();
  if (name === 'latest') return latestIstio();
  if (/^v\d+\.\d+\.\d+(-[\w.-]+)?$/.test(name)) return name;
  throw new UsageError(`${option} "${name}" is neither a compatibility profile nor an Istio build`, { fix: `${option === '--from' ? 'compat-1.29 (or 1.29), or ' : ''}pinned, latest or a module pseudo-version such as ${await pinnedIstio()} (npm run lab -- istio versions); for an Envoy upgrade, envoy-<release> on both sides (envoy-1.36.4)` });
}

export async function upgradeSides(o: { from: string; to?: string }): Promise<UpgradeSides> {
  const to = await moduleVersion(o.to ?? 'pinned', '--to');
  const toModule = await istioModuleAt(to);
  const profiles = await compatProfiles(toModule);
  const readByTo = await flagsKnownBy(toModule);
  // Another build: its release's profile on the new build, when the new build has one.
  const fromVersion = isProfile(o.from) ? undefined : await moduleVersion(o.from, '--from');
  const fromRelease = fromVersion && (await readFile(join(await istioModuleAt(fromVersion), 'VERSION'), 'utf8').catch(() => '')).trim();
  const profile = fromVersion ? (profiles.some((p) => p.version === fromRelease) ? fromRelease : undefined) : o.from;
  // The older build's behaviour: its release's profile, and every change whose flag it does not know yet.
  const known = fromVersion ? await flagsKnownBy(await istioModuleAt(fromVersion)) : undefined;
  const newer = known ? behaviourChanges(profiles).filter((c) => !known.has(c.flag)) : [];
  const fromEnv = { ...(profile ? profileEnv(profiles, profile) : {}), ...Object.fromEntries(newer.map((c) => [c.flag, c.oldValue])) };
  const changes = behaviourChanges(profiles).filter((c) => c.flag in fromEnv);
  return { to, profiles, ...(profile ? { profile } : {}), ...(fromVersion ? { fromVersion, fromRelease: fromRelease || 'unknown' } : {}), fromEnv, changes, newer, readByTo };
}
