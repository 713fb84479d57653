/**
 * A sidecar's /config_dump (what `istioctl proxy-config all -o json` or the admin endpoint gives
 * from a real pod, or a lab phase's config_dump.json) turned into an envoy-configs variant the lab
 * can run: its listeners, clusters and routes, with what the lab's upstream Envoy cannot or must
 * not run taken out, each removal listed with why it does not matter for the failures the lab
 * reproduces, and the user's addresses mapped to lab hosts.
 */
import type { EnvoyResources } from './config.js';
import { HCM, TCP_PROXY } from './config.js';

export interface ImportResult {
  resources: EnvoyResources;
  /** One line per thing taken out or rewritten, with why. */
  changes: string[];
}

/** Bootstrap-only clusters of an Istio sidecar: pilot-agent's own plumbing, not the app's traffic. */
const ISTIO_BOOTSTRAP_CLUSTERS = new Set(['prometheus_stats', 'agent', 'sds-grpc', 'xds-grpc', 'zipkin', 'envoy_accesslog_service']);

/** An Istio-only extension (the upstream Envoy binary has no implementation for it). */
function istioOnly(ext: { name?: string; typed_config?: Record<string, any> } | undefined): boolean {
  if (!ext) return false;
  const type = String(ext.typed_config?.['@type'] ?? '');
  const inner = String(ext.typed_config?.type_url ?? ext.typed_config?.value?.config?.root_id ?? '');
  return /^istio\./.test(ext.name ?? '') || /istio/i.test(type) || /istio/i.test(inner) || (type.includes('.wasm.') && /istio|stats|metadata/i.test(JSON.stringify(ext.typed_config)));
}

const inner = (entries: any[] | undefined, key: string) => (entries ?? []).map((e) => e?.[key] ?? e?.active_state?.[key]).filter(Boolean);

/** The resources a config_dump holds, static and dynamic (active state only). */
export function resourcesOfDump(dump: { configs?: any[] }): EnvoyResources & { endpoints: any[] } {
  const of = (type: string) => (dump.configs ?? []).find((c) => String(c['@type']).endsWith(`.${type}`)) ?? {};
  const listeners = of('ListenersConfigDump');
  const clusters = of('ClustersConfigDump');
  const routes = of('RoutesConfigDump');
  const endpoints = of('EndpointsConfigDump');
  return {
    listeners: [...inner(listeners.static_listeners, 'listener'), ...inner(listeners.dynamic_listeners, 'listener')],
    clusters: [...inner(clusters.static_clusters, 'cluster'), ...inner(clusters.dynamic_active_clusters, 'cluster')],
    routes: [...inner(routes.static_route_configs, 'route_config'), ...inner(routes.dynamic_route_configs, 'route_config')],
    endpoints: [...inner(endpoints.static_endpoint_configs, 'endpoint_config'), ...inner(endpoints.dynamic_endpoint_configs, 'endpoint_config')],
  };
}

/** `outbound|80||test-com.test` → test-com.test:80 (Istio's cluster naming). */
function serviceOf(clusterName: string): { host: string; port: number } | undefined {
  const m = /^outbound\|(\d+)\|[^|]*\|(.+)$/.exec(clusterName);
  return m ? { host: m[2]!, port: Number(m[1]) } : undefined;
}

function stripTypes<T>(r: T): T {
  const copy = structuredClone(r) as any;
  delete copy['@type'];
  return copy;
}

/**
 * Rewrites every string that is one of `addresses` (an IP the user's world used) into the lab
 * placeholder for the host it maps to, e.g. 10.0.3.7 → ${UPSTREAM_OLD_IP}.
 */
function mapAddresses<T>(value: T, addresses: Record<string, string>): T {
  // Whole addresses only: 198.18.50.2 must not rewrite the front of 198.18.50.21.
  const rules = Object.entries(addresses).map(([ip, ph]) => [new RegExp(`(?<![\\d.])${ip.replace(/\./g, '\\.')}(?![\\d])`, 'g'), ph] as const);
  if (rules.length === 0) return value;
  const walk = (v: any): any => {
    if (typeof v === 'string') return rules.reduce((s, [re, ph]) => s.replace(re, ph), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

export function importConfigDump(dump: { configs?: any[] }, addresses: Record<string, string> = {}): ImportResult {
  const found = resourcesOfDump(dump);
  const changes: string[] = [];
  const note = (line: string) => changes.includes(line) || changes.push(line);

  const clusters = found.clusters
    .filter((c) => {
      if (!ISTIO_BOOTSTRAP_CLUSTERS.has(c.name)) return true;
      note(`removed cluster ${c.name}: pilot-agent's own plumbing (stats, SDS, xDS, tracing), not the app's traffic`);
      return false;
    })
    .map((raw) => {
      const c = stripTypes(raw);
      if (c.transport_socket || c.transport_socket_matches) {
        delete c.transport_socket;
        delete c.transport_socket_matches;
        note(`cluster ${c.name}: mTLS/TLS to the upstream (SDS certificates) replaced by plaintext: the lab has no istiod CA; the failures it reproduces sit below TLS (connections, DNS, timeouts, routing)`);
      }
      if (c.filters?.some(istioOnly)) {
        c.filters = c.filters.filter((f: any) => !istioOnly(f));
        if (c.filters.length === 0) delete c.filters;
        note(`cluster ${c.name}: istio.metadata_exchange removed (Istio-only; it only swaps peer metadata for telemetry)`);
      }
      if (c.alt_stat_name !== undefined) {
        delete c.alt_stat_name;
        note(`cluster ${c.name}: alt_stat_name removed (Istio's cluster stat naming, e.g. "${raw.alt_stat_name}"): it renames the cluster's stats and %UPSTREAM_CLUSTER%, nothing else; the lab's checks read the cluster's own name`);
      }
      if (c.type === 'EDS') {
        const eds = found.endpoints.find((e) => e.cluster_name === (c.eds_cluster_config?.service_name ?? c.name));
        const svc = serviceOf(c.name);
        delete c.eds_cluster_config;
        if (eds) {
          // Still EDS: the lab serves these endpoints from the cluster's EDS file, so a scenario can
          // change them live (Lab.pushEndpoints) as istiod would.
          c.load_assignment = { ...stripTypes(eds), cluster_name: c.name };
          note(`cluster ${c.name}: EDS endpoints from the dump, served by the lab's EDS file`);
        } else if (svc) {
          c.type = 'STRICT_DNS';
          c.load_assignment = { cluster_name: c.name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: svc.host, port_value: svc.port } } } }] }] };
          note(`cluster ${c.name}: EDS without endpoints in the dump → STRICT_DNS on ${svc.host}:${svc.port} (the lab DNS answers for it)`);
        } else {
          note(`cluster ${c.name}: EDS without endpoints and not an outbound|port||host name: it will have no endpoints`);
        }
      }
      return c;
    });

  const listeners = found.listeners.map((raw) => {
    const l = stripTypes(raw);
    l.listener_filters = l.listener_filters?.filter((f: any) => {
      if (!istioOnly(f)) return true;
      note(`listener ${l.name}: Istio-only listener filter ${f.name} removed`);
      return false;
    });
    for (const chain of [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
      if (chain.transport_socket) {
        delete chain.transport_socket;
        note(`listener ${l.name}: inbound mTLS termination replaced by plaintext (the lab's callers do not speak Istio mTLS)`);
      }
      chain.filters = (chain.filters ?? []).filter((f: any) => {
        if (!istioOnly(f)) return true;
        note(`listener ${l.name}: Istio-only network filter ${f.name} removed (${f.name.includes('metadata') ? 'peer metadata for telemetry' : 'Istio telemetry or ALPN'}; no effect on routing)`);
        return false;
      });
      for (const f of chain.filters) {
        const tc = f.typed_config;
        if (!tc || (f.name !== HCM && f.name !== TCP_PROXY)) continue;
        if (tc.access_log) {
          delete tc.access_log;
          note(`access logs replaced by the lab's JSON access log (its checks read it)`);
        }
        if (tc.rds?.config_source) {
          delete tc.rds.config_source;
          note('RDS config sources (ADS) replaced by the lab\'s: it serves the routes itself');
        }
        if (Array.isArray(tc.http_filters)) {
          tc.http_filters = tc.http_filters.filter((h: any) => {
            if (!istioOnly(h)) return true;
            note(`listener ${l.name}: Istio-only HTTP filter ${h.name} removed (telemetry, peer metadata or ALPN override; no effect on routing)`);
            return false;
          });
        }
      }
    }
    return l;
  });

  const routes = found.routes.map(stripTypes);
  if (Object.keys(addresses).length) note(`addresses mapped to lab hosts: ${Object.entries(addresses).map(([ip, ph]) => `${ip} → ${ph}`).join(', ')}`);
  return { resources: mapAddresses({ listeners, clusters, routes }, addresses), changes };
}
