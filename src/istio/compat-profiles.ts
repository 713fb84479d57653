/**
 * Istio's behaviour changes as Istio itself lists them: each release ships its changes behind
 * named istiod flags, and its compatibility profiles
 * (manifests/helm-profiles/compatibility-version-<X.Y>.yaml in the istio.io/istio module) set the
 * flags that bring back release X.Y's behaviour. They are read from the module the lab builds, never
 * typed here, so a newer module brings its new changes with it.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import { PrerequisiteError, UsageError } from '../errors.js';
import { GO_ENV } from '../go-tools/go-env.js';

/** One behaviour change: the istiod flag and the value that keeps the older behaviour. */
export interface BehaviourChange {
  flag: string;
  /** The value that brings back the behaviour before the change (what the profiles set). */
  oldValue: string;
  /** The release whose behaviour it changed ("1.30"), from the profile's own comment, else the release after the newest profile setting it. */
  changedIn: string;
  /** The compatibility versions whose profile sets it. */
  profiles: string[];
}

/** Settings in a profile outside istiod's environment (istio-cni, ztunnel): not what the lab runs. */
export interface Profile {
  version: string;
  /** istiod's environment: flag → the value that keeps that release's behaviour, and the release of the change when the profile names it. */
  pilotEnv: Array<{ flag: string; value: string; changedIn?: string }>;
  /** Helm values for the CNI and ztunnel charts, e.g. "cni.ambient.reconcileIptablesOnStartup". */
  otherCharts: string[];
}

/** Where the Go module cache keeps istio.io/istio at `version`; it is there once the lab has built that Istio. */
export async function istioModuleAt(version: string): Promise<string> {
  const cache = (await execa('go', ['env', 'GOMODCACHE'], { env: GO_ENV, reject: false })).stdout.trim();
  const dir = join(cache, `istio.io/istio@${version}`);
  if (!cache || !existsSync(dir)) throw new PrerequisiteError(`Istio ${version} is not in the Go module cache${cache ? ` (${cache})` : ''}`, { fix: `build it first: npm run lab -- istio install ${version}` });
  return dir;
}

const minor = (v: string) => Number(v.split('.')[1]);
const next = (v: string) => `${v.split('.')[0]}.${minor(v) + 1}`;

/** Every compatibility profile of the module, oldest first. */
export async function compatProfiles(moduleDir: string): Promise<Profile[]> {
  const dir = join(moduleDir, 'manifests/helm-profiles');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^compatibility-version-\d+\.\d+\.yaml$/.test(f));
  if (!files.length) throw new PrerequisiteError(`no compatibility profiles in ${dir}`, { fix: 'an Istio older than 1.21 has none; upgrade-check needs the profiles of the Istio you upgrade to' });
  const profiles = await Promise.all(files.map(async (f) => readProfile(f.replace(/^compatibility-version-|\.yaml$/g, ''), await readFile(join(dir, f), 'utf8'))));
  return profiles.sort((a, b) => minor(a.version) - minor(b.version));
}

/**
 * One profile's text. Read line by line, not as YAML: the comments "# 1.30 behavioral changes"
 * name the release of the flags under them, and the release is what a reader needs.
 */
export function readProfile(version: string, text: string): Profile {
  const pilotEnv: Profile['pilotEnv'] = [];
  let section = '';
  let sub = '';
  let release: string | undefined;
  for (const line of text.split('\n')) {
    const comment = /^\s*#.*?(\d+\.\d+) behaviou?ral changes/.exec(line);
    if (comment) release = comment[1];
    const key = /^(\s*)([\w.-]+):\s*(.*?)\s*$/.exec(line);
    if (!key || line.trimStart().startsWith('#')) continue;
    const [, indent = '', name = '', value = ''] = key;
    if (indent.length === 0) [section, sub, release] = [name, '', undefined];
    else if (indent.length === 2) sub = name;
    else if (section === 'pilot' && sub === 'env') pilotEnv.push({ flag: name, value: value.replace(/^"(.*)"$/, '$1'), ...(release ? { changedIn: release } : {}) });
  }
  const tree = (YAML.parse(text) ?? {}) as Record<string, unknown>;
  const otherCharts = Object.keys(tree).filter((k) => k !== 'pilot').flatMap((k) => leaves(tree[k], k));
  return { version, pilotEnv, otherCharts };
}

const leaves = (v: unknown, at: string): string[] => (v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => leaves(x, `${at}.${k}`)) : [at]);

/** The behaviour changes the profiles name, each once, in the order of the release that made them. */
export function behaviourChanges(profiles: Profile[]): BehaviourChange[] {
  const byFlag = new Map<string, BehaviourChange & { named?: string }>();
  for (const p of profiles) {
    for (const e of p.pilotEnv) {
      const c = byFlag.get(e.flag) ?? { flag: e.flag, oldValue: e.value, changedIn: '', profiles: [] };
      c.profiles.push(p.version);
      c.named ??= e.changedIn;
      byFlag.set(e.flag, c);
    }
  }
  // Unnamed: the release after the newest profile that keeps the old behaviour.
  const changes = [...byFlag.values()].map(({ named, ...c }) => ({ ...c, changedIn: named ?? next(c.profiles.at(-1)!) }));
  return changes.sort((a, b) => minor(a.changedIn) - minor(b.changedIn) || a.flag.localeCompare(b.flag));
}

/** What `compat-1.29` (or `1.29`) sets: the flags that keep release 1.29's behaviour on this module. */
export function profileEnv(profiles: Profile[], compat: string): Record<string, string> {
  const version = compat.replace(/^compat-/, '');
  const p = profiles.find((x) => x.version === version);
  if (!p) throw new UsageError(`this Istio has no compatibility profile ${version}`, { fix: `one of: ${profiles.map((x) => `compat-${x.version}`).join(', ')}` });
  return Object.fromEntries(p.pilotEnv.map((e) => [e.flag, e.value]));
}

/**
 * The istiod flags a module's source registers (pilot/pkg/features): a change whose flag an older
 * build does not know came after it, whatever its release number says (development snapshots all
 * say the same).
 */
export async function flagsKnownBy(moduleDir: string): Promise<Set<string>> {
  const dir = join(moduleDir, 'pilot/pkg/features');
  const texts = await Promise.all((await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.go') && !f.endsWith('_test.go')).map((f) => readFile(join(dir, f), 'utf8')));
  // env.Register("X", …), env.RegisterBoolVar(…), env.Register[int64](…), and wrappers such as registerAmbient("X", …).
  const flags = new Set(texts.flatMap((t) => [...t.matchAll(/\b(?:env\.)?[rR]egister[A-Za-z]*(?:\[[\w.]+\])?\(\s*"([A-Z0-9_]+)"/g)].map((m) => m[1]!)));
  if (!flags.size) throw new PrerequisiteError(`no istiod flag is registered in ${dir}: not an Istio module the lab can read`, { fix: 'build that Istio again (npm run lab -- istio install <version>): the Go module cache copy may be incomplete' });
  return flags;
}
