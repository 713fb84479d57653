/**
 * The team's reviewed changes (upgrade-check --accept): a YAML list of Istio behaviour-change flags,
 * and for an Envoy upgrade, of `<scenario>/<phase>` entries. A change that alters the team's
 * traffic fails the gate (exit 1) until the team has looked at it and listed it; a change that
 * touches only config never does.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { UsageError } from '../errors.js';
import type { ConfigChanges } from './config-changes.js';
import type { EnvoyChanges } from './envoy-changes.js';
import type { ScenarioChanges } from './scenario-changes.js';

export async function acceptedFlags(file: string): Promise<Set<string>> {
  const fix = 'a YAML list of the changes your team has reviewed: Istio flags, or <scenario>/<phase> for an Envoy upgrade, e.g.\n  - DISABLE_SHADOW_HOST_SUFFIX   # our mirror target ignores Host\n  - grpc-trailers-oghttp2/before-default-codec   # gone on the new Envoy, as we want';
  const text = await readFile(resolve(file), 'utf8').catch(() => {
    throw new UsageError(`--accept ${file}: cannot read it`, { fix });
  });
  let list: unknown;
  try {
    list = YAML.parse(text) ?? [];
  } catch (err) {
    throw new UsageError(`--accept ${file} is not YAML: ${(err as Error).message.split('\n')[0]}`, { fix });
  }
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || !/^([A-Z][A-Z0-9_]+|[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*)$/.test(x))) throw new UsageError(`--accept ${file} is not a list of flag names or <scenario>/<phase> entries (it holds ${JSON.stringify(list).slice(0, 120)})`, { fix });
  return new Set(list as string[]);
}

/** The flags whose change alters traffic (of the team's YAML, or of a scenario phase) and that the team has not accepted. */
export function unacceptedTrafficChanges(r: ConfigChanges | ScenarioChanges, accepted: Set<string>): string[] {
  const alters = (e: ConfigChanges['effects'][number] | ScenarioChanges['effects'][number]) =>
    'phases' in e ? e.phases.some((p) => p.traffic?.verdict === 'changes your traffic') : e.traffic?.verdict === 'changes your traffic';
  return r.effects.filter((e) => alters(e) && !accepted.has(e.change.flag)).map((e) => e.change.flag);
}

/** The phases that behave differently on the new Envoy and that the team has not accepted. */
export const unacceptedEnvoyChanges = (r: EnvoyChanges, accepted: Set<string>): string[] => r.changed.filter((c) => !accepted.has(c.id)).map((c) => c.id);
