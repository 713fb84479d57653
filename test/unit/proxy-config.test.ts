import { describe, expect, it } from 'vitest';
import { proxyConfigText } from '../../src/envoy/proxy-config.js';

// A trimmed /config_dump of the lab's sticky-503 sidecar plus an inbound listener (Envoy 1.40).
const dump = {
  configs: [
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
      dynamic_active_clusters: [
        { cluster: { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' } },
        { cluster: { name: 'outbound|8080||app.test', type: 'STATIC', load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '198.18.7.30', port_value: 8080 } } } }] }] } } },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      dynamic_listeners: [
        { active_state: { listener: { name: 'virtualOutbound', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { cluster: 'PassthroughCluster' } }] }] } } },
        {
          active_state: {
            listener: {
              name: '0.0.0.0_80',
              address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
              filter_chains: [{ filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { rds: { route_config_name: '80' } } }] }],
            },
          },
        },
        {
          active_state: {
            listener: {
              name: 'virtualInbound',
              address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
              filter_chains: [
                {
                  filter_chain_match: { destination_port: 8080 },
                  filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { route_config: { name: 'inbound|8080||', virtual_hosts: [{ name: 'inbound|http|8080', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'inbound|8080||' } }] }] } } }],
                },
              ],
            },
          },
        },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
      dynamic_route_configs: [{ route_config: { name: '80', virtual_hosts: [{ name: 'allow_any', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'PassthroughCluster' } }] }] } }],
    },
  ],
};

describe('proxy-config (istioctl proxy-config from a /config_dump)', () => {
  it('lists listeners with their match and destination', () => {
    const text = proxyConfigText(dump, 'listeners');
    expect(text).toMatch(/0\.0\.0\.0\s+15001\s+ALL\s+Cluster: PassthroughCluster\s+virtualOutbound/);
    expect(text).toMatch(/0\.0\.0\.0\s+80\s+Trans: raw_buffer; App: http\/1\.1,h2c\s+Route: 80/);
    expect(text).toMatch(/15006\s+port=8080\s+Inline Route: inbound\|8080\|\|/);
  });

  it('lists RDS and inline routes, and clusters with their endpoints', () => {
    expect(proxyConfigText(dump, 'routes')).toMatch(/80\s+allow_any\s+\*\s+\/\s+PassthroughCluster/);
    expect(proxyConfigText(dump, 'routes')).toMatch(/inbound\|8080\|\|\s+inbound\|http\|8080\s+\*\s+\/\s+inbound\|8080\|\|/);
    expect(proxyConfigText(dump, 'clusters')).toMatch(/outbound\|8080\|\|app\.test\s+STATIC\s+ROUND_ROBIN\s+198\.18\.7\.30:8080/);
  });
});
