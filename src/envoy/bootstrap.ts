/**
 * Envoy's bootstrap for a lab and the file-based xDS documents it watches. Listeners, clusters and
 * routes come from files (LDS/CDS/RDS with path_config_source + watched_directory), so a fix can be
 * applied live by renaming a new file over the old one, the way istiod pushes a change.
 */
import YAML from 'yaml';
import type { EnvoyResources } from './config.js';

const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
};

export interface XdsPaths {
  dir: string;
  lds: string;
  cds: string;
  rds: string;
}

export function xdsPaths(dir: string): XdsPaths {
  return { dir, lds: `${dir}/lds.yaml`, cds: `${dir}/cds.yaml`, rds: `${dir}/rds.yaml` };
}

const pathSource = (path: string, dir: string) => ({
  resource_api_version: 'V3',
  path_config_source: { path, watched_directory: { path: dir } },
});

export function bootstrapYaml(o: { adminSocket?: string; adminPort?: number; xds: XdsPaths; nodeId?: string }): string {
  return YAML.stringify({
    node: { id: o.nodeId ?? 'sidecar~lab-pod', cluster: 'lab' },
    // Admin on a unix socket: reachable by the harness whatever namespace Envoy runs in. The
    // playground uses 127.0.0.1:15000 in the pod, as Istio does.
    admin: {
      address: o.adminSocket ? { pipe: { path: o.adminSocket, mode: 0o666 } } : { socket_address: { address: '127.0.0.1', port_value: o.adminPort ?? 15000 } },
    },
    layered_runtime: { layers: [{ name: 'static', static_layer: {} }, { name: 'admin', admin_layer: {} }] },
    dynamic_resources: { lds_config: pathSource(o.xds.lds, o.xds.dir), cds_config: pathSource(o.xds.cds, o.xds.dir) },
  });
}

/** DiscoveryResponse-shaped documents for the three files. */
export function xdsDocuments(r: EnvoyResources, version: string): { lds: string; cds: string; rds: string } {
  const doc = (type: string, resources: any[]) => YAML.stringify({ version_info: version, resources: resources.map((x) => ({ '@type': type, ...x })) });
  return { lds: doc(TYPE.listener, r.listeners), cds: doc(TYPE.cluster, r.clusters), rds: doc(TYPE.route, r.routes) };
}

/** Everything static, routes inline: what `envoy --mode validate` checks. */
export function validationBootstrapYaml(r: EnvoyResources): string {
  return YAML.stringify({
    node: { id: 'validate', cluster: 'lab' },
    static_resources: { listeners: r.listeners, clusters: r.clusters },
  });
}
