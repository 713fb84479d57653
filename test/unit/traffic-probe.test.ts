import { describe, expect, it } from 'vitest';
import { observationDiff, planProbe } from '../../src/upgrade/traffic-probe.js';

// The shape of a config_dump as lab/istiod writes it: a port listener routing two hosts by RDS, an
// EDS cluster per service, a VIP listener, and an inbound cluster the probe must not call.
const dump = (ledgerIp: string) => ({
  configs: [
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      dynamic_listeners: [
        { active_state: { listener: { name: '0.0.0.0_8080', address: { socket_address: { address: '0.0.0.0', port_value: 8080 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { rds: { route_config_name: '8080' } } }] }] } } },
        { active_state: { listener: { name: '198.18.0.96_5432', address: { socket_address: { address: '198.18.0.96', port_value: 5432 } }, filter_chains: [] } } },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
      dynamic_route_configs: [{ route_config: { name: '8080', virtual_hosts: [{ name: 'reports.test:8080', domains: ['reports.test', 'reports.test:8080'] }, { name: 'ledger.test:8080', domains: ['ledger.test'] }, { name: 'allow_any', domains: ['*'] }] } }],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
      dynamic_active_clusters: [{ cluster: { name: 'outbound|8080||reports.test', type: 'EDS' } }, { cluster: { name: 'outbound|8080||ledger.test', type: 'EDS' } }, { cluster: { name: 'inbound|9080||', type: 'STATIC', load_assignment: { cluster_name: 'inbound|9080||', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.6', port_value: 9080 } } } }] }] } } }],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
      dynamic_endpoint_configs: [
        { endpoint_config: { cluster_name: 'outbound|8080||reports.test', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '198.18.0.31', port_value: 8080 } } } }] }] } },
        { endpoint_config: { cluster_name: 'outbound|8080||ledger.test', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ledgerIp, port_value: 8080 } } } }] }] } },
      ],
    },
  ],
});

describe("the upgrade check's traffic probe", () => {
  it("puts every outbound endpoint of both renders on one lab host each, and calls every named host of the port listeners' routes", () => {
    const plan = planProbe([dump('198.18.0.41'), dump('198.18.0.42')]);
    expect(plan.upstreams.map((u) => [u.name, u.octet, 'ports' in u ? u.ports : []])).toEqual([
      ['ep-1', 100, [8080]],
      ['ep-2', 101, [8080]],
      ['ep-3', 102, [8080]],
    ]);
    expect(plan.standsFor).toEqual({ 'ep-1': '198.18.0.31', 'ep-2': '198.18.0.41', 'ep-3': '198.18.0.42' });
    expect(plan.targets).toEqual([
      { host: 'ledger.test', port: 8080 },
      { host: 'reports.test', port: 8080 },
    ]);
    expect(plan.left.join('\n')).toMatch(/listener 198\.18\.0\.96_5432: a service address \(VIP\) listener/);
  });

  it('compares call by call and endpoint by endpoint, naming what one side lacks', () => {
    const before = { calls: { 'ledger.test:8080': '200 from ep-2' }, received: { 'ep-2 (198.18.0.41)': 'requests with Host ledger.test' } };
    const after = { calls: { 'ledger.test:8080': '200 from ep-3' }, received: { 'ep-3 (198.18.0.42)': 'requests with Host ledger.test' } };
    expect(observationDiff(before, after)).toEqual([
      { what: 'call ledger.test:8080', before: '200 from ep-2', after: '200 from ep-3' },
      { what: 'ep-2 (198.18.0.41) received', before: 'requests with Host ledger.test', after: 'nothing' },
      { what: 'ep-3 (198.18.0.42) received', before: 'nothing', after: 'requests with Host ledger.test' },
    ]);
    expect(observationDiff(before, before)).toEqual([]);
  });
});
