/**
 * Checks on one resource of the configuration in force (Envoy's /config_dump, parsed), where a
 * text search would match another listener's or service's copy of the same field.
 */
import type { Evidence } from '../evidence/evidence.js';
import { EvidenceMissing } from '../evidence/evidence.js';
import { check, type Check } from './check.js';

type Json = Record<string, any>;

/**
 * The route configs a listener carries inline: a sidecar's inbound routes live in virtualInbound's
 * HTTP connection managers, not in RDS. Istio repeats one per protocol chain, all alike.
 */
function inlineRouteConfigs(listeners: Json[]): Json[] {
  return listeners.flatMap((l) => [...(l?.filter_chains ?? []), ...(l?.default_filter_chain ? [l.default_filter_chain] : [])])
    .flatMap((chain: Json) => chain.filters ?? [])
    .map((f: Json) => f.typed_config?.route_config)
    .filter((rc: Json | undefined) => rc !== undefined);
}

/** The route action of the first route of the virtual host serving `domain` in route config `name` (from RDS, static, or inline in a listener). */
export function routeActionOf(e: Evidence, name: string, domain: string): Json {
  const dump = JSON.parse(e.configDump) as { configs?: Json[] };
  const listeners = (dump.configs ?? []).flatMap((c) => [...(c.dynamic_listeners ?? []).map((l: Json) => l.active_state?.listener), ...(c.static_listeners ?? []).map((l: Json) => l.listener)]);
  const configs = [
    ...(dump.configs ?? []).flatMap((c) => [...(c.dynamic_route_configs ?? []), ...(c.static_route_configs ?? [])].map((r: Json) => r.route_config)),
    ...inlineRouteConfigs(listeners),
  ];
  const rc = configs.find((r) => r?.name === name);
  if (!rc) throw new EvidenceMissing(`route config "${name}" in /config_dump (it has: ${configs.map((r) => r?.name).join(', ') || 'none'})`);
  const vh = (rc.virtual_hosts ?? []).find((v: Json) => (v.domains ?? []).includes(domain));
  if (!vh) throw new EvidenceMissing(`a virtual host for ${domain} in route config "${name}"`);
  return vh.routes?.[0]?.route ?? {};
}

/** The route Envoy ran for `domain` (route config `name`) satisfies `expected`; the evidence quotes the field. */
export function routeHas(label: string, where: { route: string; domain: string; field: string }, expected: (value: any) => boolean): Check {
  return check(label, (e) => {
    const value = routeActionOf(e, where.route, where.domain)[where.field];
    return { pass: expected(value), evidence: `route "${where.route}" ${where.domain}: ${where.field} = ${value === undefined ? '(not set)' : JSON.stringify(value)}` };
  });
}

/** The cluster `name` as Envoy ran it (static or from CDS). */
export function clusterOf(e: Evidence, name: string): Json {
  const dump = JSON.parse(e.configDump) as { configs?: Json[] };
  const clusters = (dump.configs ?? []).flatMap((c) => [...(c.dynamic_active_clusters ?? []), ...(c.static_clusters ?? [])].map((x: Json) => x.cluster));
  const found = clusters.find((c) => c?.name === name);
  if (!found) throw new EvidenceMissing(`cluster "${name}" in /config_dump (it has: ${clusters.map((c) => c?.name).join(', ') || 'none'})`);
  return found;
}

/** The cluster Envoy ran satisfies `expected` at `field` (a dotted path, e.g. metadata.filter_metadata.istio.services); the evidence quotes it. */
export function clusterHas(label: string, cluster: string, field: string, expected: (value: any) => boolean): Check {
  return check(label, (e) => {
    const value = field.split('.').reduce<any>((v, k) => v?.[k], clusterOf(e, cluster));
    return { pass: expected(value), evidence: `cluster "${cluster}": ${field} = ${value === undefined ? '(not set)' : JSON.stringify(value)}` };
  });
}

/**
 * The runtime value Envoy started with (its bootstrap's static layer: a variant's `runtime:`, or
 * Istio's ProxyConfig.runtimeValues through pilot-agent); undefined when unset (the build's default).
 */
export function runtimeValueOf(e: Evidence, key: string): unknown {
  const dump = JSON.parse(e.configDump) as { configs?: Json[] };
  const bootstrap = (dump.configs ?? []).find((c) => c.bootstrap)?.bootstrap;
  if (!bootstrap) throw new EvidenceMissing('the bootstrap in /config_dump');
  const layers: Json[] = bootstrap.layered_runtime?.layers ?? [];
  return layers.map((l) => l.static_layer?.[key]).find((v) => v !== undefined);
}

/** The runtime value Envoy started with for `key` satisfies `expected`; the evidence quotes it. */
export function runtimeHas(label: string, key: string, expected: (value: unknown) => boolean): Check {
  return check(label, (e) => {
    const value = runtimeValueOf(e, key);
    return { pass: expected(value), evidence: `runtime ${key} = ${value === undefined ? "(not set: this Envoy's default)" : JSON.stringify(value)}` };
  });
}
