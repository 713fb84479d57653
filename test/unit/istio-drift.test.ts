// The drift check compares what a hand-written variant says with what Istio generated, in the
// parts that decide the failures; anything Istio adds beyond it is not drift.
import { describe, expect, it } from 'vitest';
import type { EnvoyResources } from '../../src/envoy/config.js';
import { driftBetween } from '../../src/istio/drift.js';

const tcp = (cluster: string, idle?: string) => ({
  name: 'envoy.filters.network.tcp_proxy',
  typed_config: { stat_prefix: cluster, cluster, ...(idle ? { idle_timeout: idle } : {}) },
});

const handWritten: EnvoyResources = {
  listeners: [
    {
      name: '0.0.0.0_443',
      address: { socket_address: { address: '0.0.0.0', port_value: 443 } },
      filter_chains: [
        { filter_chain_match: { server_names: ['known.test'] }, filters: [tcp('outbound|443||known.test')] },
        { filters: [tcp('outbound|443||traefik')] },
      ],
    },
  ],
  clusters: [{ name: 'outbound|443||known.test', type: 'STRICT_DNS' }],
  routes: [],
};

describe('driftBetween', () => {
  it('finds none when Istio says the same, whatever else it adds', () => {
    const generated: EnvoyResources = structuredClone(handWritten);
    generated.listeners.push({ name: 'virtualInbound', address: { socket_address: { port_value: 15006 } }, filter_chains: [] });
    generated.clusters.push({ name: 'BlackHoleCluster', type: 'STATIC' });
    expect(driftBetween(handWritten, generated)).toEqual([]);
  });

  it("reports a no-match chain that Istio renders as default_filter_chain (seed 004's catch-all, newer Istio)", () => {
    const generated: EnvoyResources = structuredClone(handWritten);
    generated.listeners[0].filter_chains.pop();
    generated.listeners[0].default_filter_chain = { filters: [tcp('outbound|443||traefik')] };
    expect(driftBetween(handWritten, generated).map((d) => `${d.what}: ${d.handWritten} | ${d.generated}`)).toEqual([
      'listener 0.0.0.0_443 chain [ALL]: tcp_proxy → outbound|443||traefik | absent',
      'listener 0.0.0.0_443 chain [ALL] tcp_proxy idle_timeout: unset | absent',
      'listener 0.0.0.0_443 default_filter_chain: none | tcp_proxy → outbound|443||traefik',
    ]);
  });

  it('compares durations by value (3s = 3000ms) and reports a different timeout', () => {
    const a: EnvoyResources = { listeners: [{ name: 'l', filter_chains: [{ filters: [tcp('c', '3s')] }] }], clusters: [], routes: [] };
    const same: EnvoyResources = { listeners: [{ name: 'l', filter_chains: [{ filters: [tcp('c', '3000ms')] }] }], clusters: [], routes: [] };
    const longer: EnvoyResources = { listeners: [{ name: 'l', filter_chains: [{ filters: [tcp('c', '30s')] }] }], clusters: [], routes: [] };
    expect(driftBetween(a, same)).toEqual([]);
    expect(driftBetween(a, longer)).toEqual([{ what: 'listener l chain [ALL] tcp_proxy idle_timeout', handWritten: '3000ms', generated: '30000ms' }]);
  });

  it("reports a route's retry policy the hand-written variant leaves out (Istio's default retry_on)", () => {
    const route = (retry?: string): EnvoyResources => ({
      listeners: [],
      clusters: [],
      routes: [{ name: '80', virtual_hosts: [{ name: 'x:80', domains: ['x'], routes: [{ match: { prefix: '/' }, route: { cluster: 'outbound|80||x', ...(retry ? { retry_policy: { retry_on: retry } } : {}) } }] }] }],
    });
    expect(driftBetween(route(), route('connect-failure'))).toEqual([
      { what: 'route 80 x:80 prefix / retry_on', handWritten: 'none', generated: 'connect-failure' },
      { what: 'route 80 x:80 prefix / retries', handWritten: 'none', generated: 'num_retries=1 retriable_status_codes=none' },
    ]);
  });

  it('compares the traffic policy: circuit-breaker thresholds, outlier detection, panic threshold, retry codes, timeouts (unset = Envoy\'s default)', () => {
    const cluster = (o: object): EnvoyResources => ({ listeners: [], routes: [], clusters: [{ name: 'outbound|8080||app.test', type: 'STATIC', ...o }] });
    const limits = (n: number) => ({ circuit_breakers: { thresholds: [{ max_connections: n, max_pending_requests: n }] } });
    expect(driftBetween(cluster(limits(1)), cluster(limits(1)))).toEqual([]);
    expect(driftBetween(cluster(limits(1)), cluster(limits(16))).map((d) => d.what)).toEqual(['cluster outbound|8080||app.test circuit_breakers']);
    const od = (max: number) => ({ outlier_detection: { consecutive_5xx: 1, interval: '1s', base_ejection_time: '30s', max_ejection_percent: max }, common_lb_config: { healthy_panic_threshold: {} } });
    expect(driftBetween(cluster(od(100)), cluster({ ...od(100), outlier_detection: { ...od(100).outlier_detection, base_ejection_time: { seconds: 30 } } }))).toEqual([]);
    expect(driftBetween(cluster(od(100)), cluster(od(50))).map((d) => d.generated)).toEqual([expect.stringContaining('max_ejection_percent=50')]);
    expect(driftBetween(cluster(od(100)), cluster({ ...od(100), common_lb_config: {} })).map((d) => `${d.what}: ${d.generated}`)).toEqual(['cluster outbound|8080||app.test healthy_panic_threshold: 50 (default)']);
    // A hand-written variant that leaves the threshold unset says nothing about it.
    expect(driftBetween(cluster(limits(1)), cluster({ ...limits(1), common_lb_config: { healthy_panic_threshold: {} } }))).toEqual([]);
    const http = (o?: object) => cluster(o ? { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': o } } : {});
    expect(driftBetween(http({ explicit_http_config: { http_protocol_options: {} } }), http())).toEqual([]);
    expect(driftBetween(http({ explicit_http_config: { http_protocol_options: {} }, common_http_protocol_options: { max_response_headers_kb: 96 } }), http({ common_http_protocol_options: { max_response_headers_kb: 96 } })).map((d) => d.generated)).toEqual(['none picked (Envoy rejects the cluster)']);
    const route = (r: object): EnvoyResources => ({ listeners: [], clusters: [], routes: [{ name: '8080', virtual_hosts: [{ name: 'a', domains: ['a'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', ...r } }] }] }] });
    expect(driftBetween(route({ timeout: '15s' }), route({}))).toEqual([]);
    expect(driftBetween(route({}), route({ timeout: '0s' }))).toEqual([{ what: 'route 8080 a prefix / timeout', handWritten: '15000ms', generated: '0ms' }]);
    const retry = (codes: number[]) => ({ timeout: '0s', retry_policy: { retry_on: 'retriable-status-codes', num_retries: 2, retriable_status_codes: codes } });
    expect(driftBetween(route(retry([503])), route(retry([]))).map((d) => `${d.what}: ${d.handWritten} / ${d.generated}`)).toEqual(['route 8080 a prefix / retries: num_retries=2 retriable_status_codes=503 / num_retries=2 retriable_status_codes=none']);
  });

  it("finds a hand-written HTTP filter Istio lacks, but not Istio's own extra filters", () => {
    const hcm = (filters: string[]): EnvoyResources => ({
      listeners: [{ name: '0.0.0.0_80', filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { rds: { route_config_name: '80' }, http_filters: filters.map((name) => ({ name })) } }] }] }],
      clusters: [],
      routes: [],
    });
    const handWritten = hcm(['envoy.filters.http.lua', 'envoy.filters.http.router']);
    expect(driftBetween(handWritten, hcm(['envoy.filters.http.fault', 'envoy.filters.http.lua', 'envoy.filters.http.cors', 'envoy.filters.http.router']))).toEqual([]);
    expect(driftBetween(handWritten, hcm(['envoy.filters.http.fault', 'envoy.filters.http.router'])).map((d) => d.what)).toEqual(['listener 0.0.0.0_80 chain [ALL] http_filters']);
  });
});
