// import-config on an Istio-shaped config_dump: Istio-only extensions, pilot-agent's bootstrap
// clusters, SDS/mTLS and foreign access logs come out, each with a reason; EDS clusters get
// endpoints; the user's addresses become lab placeholders, whole addresses only.
import { describe, expect, it } from 'vitest';
import { importConfigDump, resourcesOfDump } from '../../src/envoy/import-config.js';

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const dump = {
  configs: [
    { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: {} },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
      static_clusters: [{ cluster: { name: 'xds-grpc', type: 'STATIC' } }],
      dynamic_active_clusters: [
        {
          cluster: {
            '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
            name: 'outbound|80||test-com.test',
            alt_stat_name: 'outbound|80||test-com.test;',
            type: 'EDS',
            eds_cluster_config: { eds_config: { ads: {} }, service_name: 'outbound|80||test-com.test' },
            transport_socket_matches: [{ name: 'tlsMode-istio' }],
            filters: [{ name: 'istio.metadata_exchange', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange' } }],
          },
        },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      dynamic_listeners: [
        {
          name: '10.0.3.7_80',
          active_state: {
            listener: {
              name: '10.0.3.7_80',
              address: { socket_address: { address: '10.0.3.7', port_value: 80 } },
              filter_chains: [
                {
                  filters: [
                    { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } },
                    { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM_TYPE, rds: { route_config_name: '80', config_source: { ads: {} } }, access_log: [{ name: 'envoy.access_loggers.file' }], http_filters: [{ name: 'istio.alpn', typed_config: { '@type': 'type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig' } }, { name: 'envoy.filters.http.router' }] } },
                  ],
                },
              ],
            },
          },
        },
      ],
    },
    { '@type': 'type.googleapis.com/envoy.admin.v3.ScopedRoutesConfigDump' },
    { '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump', dynamic_route_configs: [{ route_config: { name: '80', virtual_hosts: [{ name: 'x', domains: ['10.0.3.71', '10.0.3.7'] }] } }] },
  ],
};

describe('import-config', () => {
  it('reads static and dynamic resources, and the routes (not the scoped routes)', () => {
    const r = resourcesOfDump(dump);
    expect([r.listeners.length, r.clusters.length, r.routes.length]).toEqual([1, 2, 1]);
  });

  it('takes out what the upstream Envoy cannot or must not run, saying why', () => {
    const { resources, changes } = importConfigDump(dump);
    expect(resources.clusters.map((c) => c.name)).toEqual(['outbound|80||test-com.test']);
    const cluster = resources.clusters[0];
    expect(cluster.type).toBe('STRICT_DNS');
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'test-com.test', port_value: 80 });
    expect(cluster.filters).toBeUndefined();
    expect(cluster.alt_stat_name).toBeUndefined();
    expect(cluster.transport_socket_matches).toBeUndefined();
    const chain = resources.listeners[0].filter_chains[0];
    expect(chain.filters.map((f: any) => f.name)).toEqual(['envoy.filters.network.http_connection_manager']);
    const hcm = chain.filters[0].typed_config;
    expect(hcm.http_filters.map((f: any) => f.name)).toEqual(['envoy.filters.http.router']);
    expect(hcm.access_log).toBeUndefined();
    expect(hcm.rds).toEqual({ route_config_name: '80' });
    for (const what of ['xds-grpc', 'plaintext', 'istio.metadata_exchange', 'istio.stats', 'istio.alpn', 'STRICT_DNS', "lab's JSON access log", 'RDS config sources', 'alt_stat_name']) expect(changes.join('\n')).toContain(what);
  });

  it('maps whole addresses to lab placeholders (10.0.3.7 is not the front of 10.0.3.71)', () => {
    const { resources } = importConfigDump(dump, { '10.0.3.7': '${UPSTREAM_OLD_IP}' });
    expect(resources.listeners[0].name).toBe('${UPSTREAM_OLD_IP}_80');
    expect(resources.listeners[0].address.socket_address.address).toBe('${UPSTREAM_OLD_IP}');
    expect(resources.routes[0].virtual_hosts[0].domains).toEqual(['10.0.3.71', '${UPSTREAM_OLD_IP}']);
  });
});
