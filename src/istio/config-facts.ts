/**
 * A config as facts: the parts that decide the failures the lab reproduces, one line each, so two
 * configs compare part by part (a hand-written variant against Istio's output: drift.ts; Istio's
 * output under two behaviours: the upgrade check). Which listeners exist, what each filter chain
 * matches and where it sends the traffic, the default chain, the clusters' types, the timeouts and
 * retries on the path, the traffic policy (circuit breakers, outlier detection, panic threshold,
 * requests per connection), the routes' domains and clusters.
 */
import { HCM, TCP_PROXY, type EnvoyResources } from '../envoy/config.js';

/** What a config says, one line per part that decides traffic: `listener … chain […]` → `tcp_proxy → cluster`. */
export type Facts = Map<string, string>;

/** A filter_chain_match as one stable line: keys sorted, lists sorted. */
function matchText(m: any): string {
  if (!m || Object.keys(m).length === 0) return 'ALL';
  return Object.keys(m)
    .sort()
    .map((k) => {
      const v = m[k];
      if (Array.isArray(v)) return `${k}=${v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).sort().join(',')}`;
      return `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`;
    })
    .join(' ');
}

/** Where a filter chain sends its traffic: a tcp_proxy's cluster or an HCM's route configuration. */
function destination(chain: any): string {
  for (const f of chain?.filters ?? []) {
    const tc = f.typed_config ?? {};
    if (f.name === TCP_PROXY) return `tcp_proxy → ${tc.cluster ?? (tc.weighted_clusters ? 'weighted clusters' : '?')}`;
    if (f.name === HCM) return tc.rds ? `http → route ${tc.rds.route_config_name}` : 'http → inline route';
  }
  return `filters: ${(chain?.filters ?? []).map((f: any) => f.name).join(', ') || 'none'}`;
}

/** A duration as milliseconds ("3s", "0.5s", "500ms", {seconds, nanos}) so equal durations compare equal. */
function ms(d: any): string {
  if (d === undefined || d === null) return 'unset';
  if (typeof d === 'object') return `${Number(d.seconds ?? 0) * 1000 + Math.round(Number(d.nanos ?? 0) / 1e6)}ms`;
  const m = /^([\d.]+)(ms|s|m|h)$/.exec(String(d));
  if (!m) return String(d);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return `${Math.round(Number(m[1]) * factor)}ms`;
}

export const HTTP_FILTERS = 'http_filters';
export const PANIC = 'healthy_panic_threshold';

/** Envoy's defaults when a field is unset, so "unset" and the default compare equal. */
const DEFAULT_ROUTE_TIMEOUT = '15s';
const DEFAULT_STREAM_IDLE_TIMEOUT = '300s';
/** What outlier detection decides with: when a host is ejected, for how long, how many at most. */
const OUTLIER_FIELDS = ['consecutive_5xx', 'consecutive_gateway_failure', 'enforcing_consecutive_5xx', 'enforcing_consecutive_gateway_failure', 'enforcing_success_rate', 'interval', 'base_ejection_time', 'max_ejection_percent'];

/** `names` appear in `all` in the same order (others may stand between them). */
export function inOrder(names: string[], all: string[]): boolean {
  let i = 0;
  for (const n of all) if (n === names[i]) i++;
  return i === names.length;
}

/**
 * The protocol a cluster speaks upstream. No HttpProtocolOptions at all is HTTP/1.1, the same as an
 * explicit http_protocol_options; options that pick no protocol are rejected by Envoy (measured: an
 * EnvoyFilter that MERGEs common_http_protocol_options into a cluster Istio gave none).
 */
function upstreamProtocol(c: any): string {
  const o = c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  if (!o) return c.http2_protocol_options ? 'h2' : 'HTTP/1.1';
  if (o.explicit_http_config) return o.explicit_http_config.http2_protocol_options ? 'h2' : 'HTTP/1.1';
  if (o.use_downstream_protocol_config) return 'downstream protocol';
  if (o.auto_config) return 'auto';
  return 'none picked (Envoy rejects the cluster)';
}

const UPGRADES = 'upgrade_configs';
/** "websocket", "websocket=off", "none": each upgrade type and whether it is enabled (default: on). */
function upgrades(list: any[]): string {
  return list.map((u) => `${u.upgrade_type}${u.enabled === false || u.enabled?.value === false ? '=off' : ''}`).sort().join(', ') || 'none';
}

/**
 * The facts of a config. `o.whole`: every part Istio may set, for comparing two generated configs
 * (an upgrade); without it, only the parts a hand-written variant states are compared where it
 * states them (the panic threshold, upgrades).
 */
export function configFacts(r: EnvoyResources & { endpoints?: any[] }, o: { whole?: boolean } = {}): Facts {
  const f: Facts = new Map();
  for (const l of r.listeners) {
    const port = l.address?.socket_address?.port_value;
    f.set(`listener ${l.name}`, `port ${port}`);
    // What Envoy reads before choosing a chain (tls_inspector: the SNI; http_inspector: the protocol).
    f.set(`listener ${l.name} listener_filters`, (l.listener_filters ?? []).map((x: any) => x.name).sort().join(', ') || 'none');
    for (const chain of l.filter_chains ?? []) {
      const at = `listener ${l.name} chain [${matchText(chain.filter_chain_match)}]`;
      f.set(at, destination(chain));
      for (const x of chain.filters ?? []) {
        if (x.name === TCP_PROXY) f.set(`${at} tcp_proxy idle_timeout`, ms(x.typed_config?.idle_timeout));
        if (x.name === HCM) {
          // The HTTP filters the request passes (Lua, dynamic forward proxy, router), in order.
          f.set(`${at} ${HTTP_FILTERS}`, (x.typed_config?.http_filters ?? []).map((h: any) => h.name).join(' → '));
          f.set(`${at} max_requests_per_connection`, String(x.typed_config?.common_http_protocol_options?.max_requests_per_connection ?? 'unset'));
          f.set(`${at} stream_idle_timeout`, ms(x.typed_config?.stream_idle_timeout ?? DEFAULT_STREAM_IDLE_TIMEOUT));
          f.set(`${at} max_stream_duration`, ms(x.typed_config?.common_http_protocol_options?.max_stream_duration));
          // Header limits (unset: Envoy's defaults, 60 KiB and 100 headers; 80 KiB for responses, measured).
          f.set(`${at} max_request_headers_kb`, String(x.typed_config?.max_request_headers_kb ?? 60));
          f.set(`${at} max_headers_count`, String(x.typed_config?.common_http_protocol_options?.max_headers_count ?? 100));
          // The upgrades the HCM allows (istiod: websocket on every HCM). Stated only where the
          // hand-written variant says something: most leave it out, and only websocket-upgrade is about it.
          if (x.typed_config?.upgrade_configs !== undefined) f.set(`${at} ${UPGRADES}`, upgrades(x.typed_config.upgrade_configs));
        }
      }
    }
    f.set(`listener ${l.name} default_filter_chain`, l.default_filter_chain ? destination(l.default_filter_chain) : 'none');
  }
  for (const c of r.clusters) {
    // STATIC and EDS both give a list of endpoints the control plane chose; they differ only in
    // whether the list can change live, which the lab refuses for STATIC (Lab.pushEndpoints).
    const type = c.type ?? 'EDS';
    f.set(`cluster ${c.name}`, `type ${type === 'STATIC' || type === 'EDS' ? 'STATIC or EDS (listed endpoints)' : type}`);
    const http = c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    f.set(`cluster ${c.name} http idle_timeout`, ms(http?.common_http_protocol_options?.idle_timeout));
    // The traffic policy a DestinationRule turns on: pool thresholds, ejection, panic routing.
    const limits = c.circuit_breakers?.thresholds?.[0];
    f.set(`cluster ${c.name} circuit_breakers`, limits ? ['max_connections', 'max_pending_requests', 'max_requests', 'max_retries'].map((k) => `${k}=${limits[k] ?? 'unset'}`).join(' ') : 'none');
    f.set(`cluster ${c.name} upstream protocol`, upstreamProtocol(c));
    f.set(`cluster ${c.name} max_response_headers_kb`, String(http?.common_http_protocol_options?.max_response_headers_kb ?? 80));
    f.set(`cluster ${c.name} max_requests_per_connection`, String(http?.common_http_protocol_options?.max_requests_per_connection ?? c.max_requests_per_connection ?? 'unset'));
    const od = c.outlier_detection;
    f.set(`cluster ${c.name} outlier_detection`, od ? OUTLIER_FIELDS.map((k) => `${k}=${k.endsWith('time') || k === 'interval' ? ms(od[k]) : (od[k]?.value ?? od[k] ?? 'unset')}`).join(' ') : 'none');
    // An empty Percent is 0 (panic routing off). Compared only where the hand-written variant sets
    // it: Istio's own default moved (the newer Istio sets 0 on every cluster, PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS),
    // and only the outlier scenarios depend on it.
    const panic = c.common_lb_config?.healthy_panic_threshold;
    // Unset is Envoy's default, 50: the same routing as an explicit 50, so an upgrade that starts writing it changes nothing.
    if (panic !== undefined || o.whole) f.set(`cluster ${c.name} ${PANIC}`, panic === undefined ? '50' : String(panic.value ?? 0));
    if (o.whole) wholeClusterFacts(f, c, r.endpoints);
    const ka = c.upstream_connection_options?.tcp_keepalive;
    f.set(`cluster ${c.name} tcp_keepalive`, ka ? ['keepalive_time', 'keepalive_interval', 'keepalive_probes'].map((k) => `${k}=${ka[k] ?? 'unset'}`).join(' ') : 'none');
  }
  for (const rc of r.routes) {
    for (const vh of rc.virtual_hosts ?? []) {
      for (const d of vh.domains ?? []) f.set(`route ${rc.name} domain ${d}`, `virtual host ${vh.name}`);
      for (const route of vh.routes ?? []) {
        const m = route.match ?? {};
        const key = `route ${rc.name} ${vh.name} ${m.prefix !== undefined ? `prefix ${m.prefix}` : JSON.stringify(m)}`;
        f.set(key, `cluster ${route.route?.cluster ?? '-'}`);
        const retry = route.route?.retry_policy;
        f.set(`${key} retry_on`, retry?.retry_on ?? 'none');
        f.set(`${key} retries`, retry ? `num_retries=${retry.num_retries?.value ?? retry.num_retries ?? 1} retriable_status_codes=${(retry.retriable_status_codes ?? []).join(',') || 'none'}` : 'none');
        f.set(`${key} timeout`, route.route ? ms(route.route.timeout ?? DEFAULT_ROUTE_TIMEOUT) : 'n/a');
        f.set(`${key} idle_timeout`, ms(route.route?.idle_timeout));
        f.set(`${key} max_stream_duration`, ms(route.route?.max_stream_duration?.max_stream_duration));
        if (route.route?.upgrade_configs !== undefined) f.set(`${key} ${UPGRADES}`, upgrades(route.route.upgrade_configs));
        if (o.whole) f.set(`${key} request_mirror_policies`, mirrors(route.route?.request_mirror_policies));
      }
    }
  }
  return f;
}

/** Parts only an upgrade compares: what Istio's behaviour flags change in a cluster. */
function wholeClusterFacts(f: Facts, c: any, eds: any[] = []): void {
  // Which pods a service's cluster reaches (which namespace's ServiceEntry backs a host, unready
  // pods sent or not): STATIC lists them in the cluster, EDS in the endpoint configs.
  const assignment = c.load_assignment ?? eds.find((e) => e.cluster_name === (c.eds_cluster_config?.service_name ?? c.name));
  if (assignment) f.set(`cluster ${c.name} endpoints`, endpointList(assignment));
  // DISABLE_TRACK_REMAINING_CB_METRICS: the remaining_* gauges a dashboard reads.
  f.set(`cluster ${c.name} circuit_breakers track_remaining`, String(c.circuit_breakers?.thresholds?.[0]?.track_remaining ?? false));
  const tls = c.transport_socket?.typed_config;
  if (tls) f.set(`cluster ${c.name} tls`, `sni=${tls.sni ?? 'unset'} auto_sni=${c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']?.upstream_http_protocol_options?.auto_sni ?? false}`);
}

/** "198.18.0.31:8080, 198.18.0.32:8080 UNHEALTHY": every endpoint of every priority, sorted. */
function endpointList(assignment: any): string {
  const list = (assignment.endpoints ?? []).flatMap((g: any) =>
    (g.lb_endpoints ?? []).map((e: any) => {
      const a = e.endpoint?.address?.socket_address;
      const health = e.health_status && e.health_status !== 'HEALTHY' && e.health_status !== 'UNKNOWN' ? ` ${e.health_status}` : '';
      return `${a?.address ?? '?'}:${a?.port_value ?? '?'}${health}`;
    }),
  );
  return list.sort().join(', ') || 'none';
}

/** A route's mirrors: the cluster each copy goes to, and whether its Host keeps Envoy's "-shadow" suffix (DISABLE_SHADOW_HOST_SUFFIX). */
function mirrors(list: any[] | undefined): string {
  return (list ?? []).map((m) => `${m.cluster}${m.disable_shadow_host_suffix_append ? ' (Host unchanged)' : ' (Host-shadow)'}`).join(', ') || 'none';
}

/** What differs between two sets of facts, either way: a part added, removed or changed. */
export function factDiff(a: Facts, b: Facts): Array<{ what: string; before: string; after: string }> {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => ({ what: k, before: a.get(k) ?? 'absent', after: b.get(k) ?? 'absent' }));
}
