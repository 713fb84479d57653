/**
 * The sidecar as `istioctl proxy-config` prints it, from Envoy's own /config_dump: listeners
 * (address, port, match, destination), routes (route config, virtual host, domains, match,
 * cluster) and clusters (name, type, endpoints), so a user can compare the lab's sidecar with
 * theirs line by line. Written per phase as proxy-config.txt; `npm run lab -- proxy-config`.
 */
import { textTable } from '../util/text-table.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any: a config_dump is whatever Envoy wrote

export type ProxyConfigView = 'listeners' | 'routes' | 'clusters' | 'all';
export const PROXY_CONFIG_VIEWS: ProxyConfigView[] = ['listeners', 'routes', 'clusters', 'all'];

const section = (dump: Json, kind: string): Json => (dump?.configs ?? []).find((c: Json) => String(c['@type']).endsWith(`.${kind}ConfigDump`)) ?? {};
const socket = (a: Json) => (a?.socket_address ? { address: a.socket_address.address ?? '', port: String(a.socket_address.port_value ?? '') } : { address: a?.pipe?.path ?? '?', port: '' });

function chainMatch(m: Json): string {
  if (!m) return 'ALL';
  const parts = [
    m.destination_port !== undefined && `port=${m.destination_port}`,
    m.server_names?.length && `SNI: ${m.server_names.join(',')}`,
    m.transport_protocol && `Trans: ${m.transport_protocol}`,
    m.application_protocols?.length && `App: ${m.application_protocols.join(',')}`,
    m.prefix_ranges?.length && `Addr: ${m.prefix_ranges.map((r: Json) => `${r.address_prefix}/${r.prefix_len ?? 32}`).join(',')}`,
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : 'ALL';
}

function chainDestination(chain: Json): string {
  for (const f of chain.filters ?? []) {
    const c = f.typed_config ?? {};
    if (f.name === 'envoy.filters.network.http_connection_manager') return c.rds ? `Route: ${c.rds.route_config_name}` : `Inline Route: ${c.route_config?.name ?? '?'}`;
    if (f.name === 'envoy.filters.network.tcp_proxy') return `Cluster: ${c.cluster ?? '(weighted)'}`;
  }
  return (chain.filters ?? []).map((f: Json) => f.name).join(',') || '-';
}

export function listenerRows(dump: Json): string[][] {
  const listeners = (section(dump, 'Listeners').dynamic_listeners ?? []).map((l: Json) => l.active_state?.listener).filter(Boolean);
  return listeners.flatMap((l: Json) => {
    const { address, port } = socket(l.address);
    const chains = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [{ ...l.default_filter_chain, filter_chain_match: undefined }] : [])];
    if (!chains.length) return [[address, port, 'ALL', '-', l.name]];
    return chains.map((c: Json) => [address, port, chainMatch(c.filter_chain_match), chainDestination(c), l.name]);
  });
}

function routeConfigRows(rc: Json): string[][] {
  return (rc.virtual_hosts ?? []).flatMap((vh: Json) =>
    (vh.routes ?? []).map((r: Json) => [rc.name ?? '?', vh.name ?? '?', (vh.domains ?? []).join(','), r.match?.prefix ?? r.match?.path ?? r.match?.safe_regex?.regex ?? '/*', r.route?.cluster ?? (r.direct_response ? `direct ${r.direct_response.status}` : '-')]),
  );
}

export function routeRows(dump: Json): string[][] {
  const dynamic = (section(dump, 'Routes').dynamic_route_configs ?? []).map((r: Json) => r.route_config).filter(Boolean);
  // Istio's inbound listeners carry their routes inline in the HCM.
  const inline = (section(dump, 'Listeners').dynamic_listeners ?? []).flatMap((l: Json) =>
    (l.active_state?.listener?.filter_chains ?? []).flatMap((c: Json) => (c.filters ?? []).map((f: Json) => f.typed_config?.route_config).filter(Boolean)),
  );
  return [...dynamic, ...inline].flatMap(routeConfigRows);
}

export function clusterRows(dump: Json): string[][] {
  const clusters = [...(section(dump, 'Clusters').static_clusters ?? []), ...(section(dump, 'Clusters').dynamic_active_clusters ?? [])].map((c: Json) => c.cluster).filter(Boolean);
  // An EDS cluster's endpoints are in the dump's EndpointsConfigDump (when it has one).
  const eds = new Map<string, Json>((section(dump, 'Endpoints').dynamic_endpoint_configs ?? []).map((e: Json) => [e.endpoint_config?.cluster_name, e.endpoint_config]));
  return clusters.map((c: Json) => {
    const endpoints = ((c.load_assignment ?? eds.get(c.eds_cluster_config?.service_name ?? c.name))?.endpoints ?? []).flatMap((e: Json) => (e.lb_endpoints ?? []).map((lb: Json) => Object.values(socket(lb.endpoint?.address)).filter(Boolean).join(':')));
    return [c.name, c.type ?? (c.cluster_type?.name ?? 'EDS'), c.lb_policy ?? 'ROUND_ROBIN', endpoints.join(',') || '-'];
  });
}

/** The chosen tables as text, like `istioctl proxy-config <view>`. */
export function proxyConfigText(dump: Json, view: ProxyConfigView): string {
  const parts: string[] = [];
  if (view === 'listeners' || view === 'all') parts.push(textTable(['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION', 'LISTENER'], listenerRows(dump)));
  if (view === 'routes' || view === 'all') parts.push(textTable(['ROUTE CONFIG', 'VIRTUAL HOST', 'DOMAINS', 'MATCH', 'CLUSTER'], routeRows(dump)));
  if (view === 'clusters' || view === 'all') parts.push(textTable(['CLUSTER', 'TYPE', 'LB', 'ENDPOINTS'], clusterRows(dump)));
  return parts.join('\n\n');
}
