/**
 * Drift between a hand-written variant and what Istio generates from the scenario's Istio YAML,
 * in the parts that decide the failures the lab reproduces: which listeners exist, what each filter
 * chain matches and where it sends the traffic, the default chain, the clusters' types, the
 * timeouts and retries on the path (route timeout, idle and stream timeouts, retry codes), the
 * traffic policy (circuit breakers, outlier detection, panic threshold, requests per connection),
 * the routes' domains and clusters. Istio generates more than a
 * hand-written variant holds (virtualInbound, extra domains, Istio's defaults): only what the
 * hand-written variant says is compared, so every line of it must be what Istio would push.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadVariant, variantPath, type EnvoyResources } from '../envoy/config.js';
import { configFacts, HTTP_FILTERS, inOrder, PANIC } from './config-facts.js';
import YAML from 'yaml';
import { configsDir } from '../envoy/configs-dir.js';
import { istioVariant } from './istio-variant.js';
import { pinnedIstio } from './istiod-binary.js';

export interface Drift {
  /** What is compared, e.g. `listener 0.0.0.0_443 chain [server_names=*.test]`. */
  what: string;
  handWritten: string;
  generated: string;
}

/**
 * Every fact the hand-written variant states that Istio's output does not state the same way. The
 * hand-written default_filter_chain "none" is a statement too: Istio having one there is a drift.
 */
export function driftBetween(handWritten: EnvoyResources, generated: EnvoyResources): Drift[] {
  const want = configFacts(handWritten);
  const got = configFacts(generated);
  const drifts: Drift[] = [];
  for (const [what, value] of want) {
    // A panic threshold Istio leaves unset is Envoy's default, 50.
    const other = got.get(what) ?? (what.endsWith(PANIC) && got.has(what.replace(` ${PANIC}`, '')) ? '50 (default)' : 'absent');
    // Istio adds filters of its own (grpc_stats, fault, cors): the hand-written ones must be there, in the same order.
    const same = what.endsWith(HTTP_FILTERS) ? inOrder(value.split(' → '), other.split(' → ')) : other === value;
    if (!same) drifts.push({ what, handWritten: value, generated: other });
  }
  return drifts;
}

/**
 * Drift a scenario keeps on purpose (istio/known-drift.yaml): per variant, why, the compared items,
 * and, when it holds for one Istio only, that Istio's version.
 */
type KnownDrift = Record<string, { why: string; what: string[]; istio?: string }>;

export interface VariantDrift {
  variant: string;
  /** Differences nobody declared: the hand-written variant drifted from Istio (or Istio changed). */
  unexpected: Drift[];
  /** Differences declared in istio/known-drift.yaml, with why. */
  known: Drift[];
  why?: string;
  /** Declared differences that no longer differ: the declaration is stale. */
  stale: string[];
}

const NOT_VARIANTS = new Set(['mesh.yaml', 'known-drift.yaml']);

/**
 * Another pod's variant (what a phase names as world.peerSidecar's config) is that pod's sidecar:
 * istiod renders it for that pod, beside the objects of the first phase that runs with it.
 */
function peerRendering(scenario: Parameters<typeof scenarioDrift>[0], variant: string): { host: string; beside: string } | undefined {
  const server = scenario.world.peerSidecar;
  if (!server) return undefined;
  const phase = scenario.phases?.find((p) => p.peerSidecar !== false && (p.peerSidecar ?? server.config) === variant);
  return phase ? { host: server.host, beside: phase.config } : undefined;
}

/** Each variant that has both a hand-written config and Istio YAML, compared. */
export async function scenarioDrift(
  scenario: { id: string; world: { upstreams: Array<{ name: string; octet: number }>; peerSidecar?: { host: string; config?: string } }; phases?: Array<{ config: string; peerSidecar?: string | false }> },
  progress?: (line: string) => void,
  version?: string,
): Promise<VariantDrift[]> {
  const rendering = version ?? (await pinnedIstio());
  const dir = join(configsDir(scenario.id), 'istio');
  const knownFile = join(dir, 'known-drift.yaml');
  const declared: KnownDrift = existsSync(knownFile) ? (YAML.parse(await readFile(knownFile, 'utf8')) ?? {}) : {};
  const variants = (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.mesh.yaml') && !NOT_VARIANTS.has(f))
    .map((f) => f.replace(/\.yaml$/, ''))
    .filter((v) => existsSync(variantPath(scenario.id, v)))
    .sort();
  const out = await mkdtemp(join(tmpdir(), 'efl-istio-drift-'));
  try {
    const results = [];
    for (const variant of variants) {
      const generated = (await istioVariant(scenario, variant, out, progress, version, peerRendering(scenario, variant)))!;
      const drifts = driftBetween(await loadVariant(variantPath(scenario.id, variant)), await loadVariant(generated.file));
      const entry = declared[variant] && (!declared[variant]!.istio || declared[variant]!.istio === rendering) ? declared[variant] : undefined;
      const known = new Set(entry?.what ?? []);
      results.push({
        variant,
        unexpected: drifts.filter((d) => !known.has(d.what)),
        known: drifts.filter((d) => known.has(d.what)),
        why: entry?.why,
        stale: [...known].filter((w) => !drifts.some((d) => d.what === w)),
      });
    }
    return results;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
